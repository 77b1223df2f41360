"""Driving tld-agent from the integration tests: a private root, a config, the process, its
--output file and its stats file. Every wait is bounded."""
import json
import os
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    b = os.environ.get("TLD_BUILD", "build/asan")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def agent_bin():
    return os.path.join(build_dir(), "bin", "tld-agent")


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; that value, or AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def config_xml(localfiles=(), docker=None, extra=""):
    """localfiles: (format, location[, inner xml]); docker: dict of wodle options or None."""
    parts = ["<ossec_config>"]
    for lf in localfiles:
        fmt, loc = lf[0], lf[1]
        inner = lf[2] if len(lf) > 2 else ""
        parts.append(f"  <localfile><log_format>{fmt}</log_format><location>{loc}</location>"
                     f"{inner}</localfile>")
    if docker is not None:
        parts.append('  <wodle name="docker-listener">')
        for k, v in docker.items():
            parts.append(f"    <{k}>{v}</{k}>")
        parts.append("  </wodle>")
    parts.append(extra)
    parts.append("</ossec_config>")
    return "\n".join(parts) + "\n"


class Daemon:
    """A process under test (tld-agent, tld-manager): stop, kill, and what it shows of itself.
    Subclasses set WHAT (its name in messages), STATS (its stats file below var/run),
    STOP_TIMEOUT and TAIL_LINES, and fill proc, root, logfile and stderr."""
    WHAT, STATS, STOP_TIMEOUT, TAIL_LINES = "process", "", 60, 40
    proc = None

    def stop(self, timeout=None):
        """SIGTERM and wait; the exit status must be 0 (ASan reports make it non-zero)."""
        timeout = timeout or self.STOP_TIMEOUT
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.WHAT} did not stop within {timeout} s:\n{self.log_tail()}")
        assert rc == 0, f"{self.WHAT} exited with {rc}:\n{self.log_tail()}"
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)

    def stats(self):
        try:
            with open(os.path.join(self.root, "var/run", self.STATS)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def log_tail(self, n=None):
        out = []
        for p in (self.logfile, self.stderr):
            try:
                out += open(p, errors="replace").readlines()[-(n or self.TAIL_LINES):]
            except OSError:
                pass
        return "".join(out)


class Agent(Daemon):
    WHAT, STATS, STOP_TIMEOUT, TAIL_LINES = "agent", "tld-agent.stats.json", 60, 40

    def __init__(self, workdir, config, name="agent", output="out.jsonl"):
        self.dir = os.path.join(str(workdir), name)
        os.makedirs(self.dir, exist_ok=True)
        self.root = os.path.join(self.dir, "root")
        self.conf = os.path.join(self.dir, "agent.conf")
        self.out = os.path.join(self.dir, output) if output else None
        self.logfile = os.path.join(self.dir, "agent.log")
        self.stderr = os.path.join(self.dir, "stderr.log")
        with open(self.conf, "w") as f:
            f.write(config)
        self.proc = None
        self._read_off = 0
        self._records = []
        self._counts = {}

    # ---- process ------------------------------------------------------------------------------
    def start(self, wait_ready=True):
        args = [agent_bin(), "-c", self.conf, "-r", self.root, "--log", self.logfile]
        if os.environ.get("TLD_AGENT_DEBUG"):
            args.append("--debug")
        if self.out:
            args += ["--output", self.out]
        err = open(self.stderr, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        if wait_ready:
            wait_until(lambda: self.stats() or self.proc.poll() is not None, 30,
                       what="the agent's stats file")
            assert self.proc.poll() is None, f"agent exited at start:\n{self.log_tail()}"
        return self

    def records(self):
        """Every record written to --output so far (complete lines only), parsed."""
        if not self.out or not os.path.exists(self.out):
            return self._records
        with open(self.out, "rb") as f:
            f.seek(self._read_off)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            r = json.loads(line)
            self._records.append(r)
            self._counts[r["location"]] = self._counts.get(r["location"], 0) + 1
        self._read_off += end
        return self._records

    def count(self, location):
        """Records written so far for one location."""
        self.records()
        return self._counts.get(location, 0)

    def wait_count(self, location, n, timeout=60):
        return wait_until(lambda: self.count(location) >= n, timeout,
                          what=f"{n} records from {location} (have {self.count(location)})")

    def reset_reader(self):
        self._read_off = 0
        self._records = []
        self._counts = {}

    def wait_records(self, pred, timeout=30, what="records"):
        return wait_until(lambda: pred(self.records()), timeout, what=what)

    def texts(self, location=None):
        return [r["text"] for r in self.records() if location is None or r["location"] == location]

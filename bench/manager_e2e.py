#!/usr/bin/env python3
"""End-to-end throughput: agent -> manager -> alerts.json over TLS on loopback.

One agent follows a file; the file appears at once with N events (half Docker Engine events as
the listener ships them, half container web-log lines in Docker's json-file format, some of
them attacks). The manager analyses them with the project's ruleset plus the mission's
local decoders. Measured: wall time from the file's appearance to the last event analysed,
the manager's and the agent's CPU time over that window (from /proc), and for comparison the
engine's own single-thread rate on the same events (tld-logtest, CPU time).

Runs the whole measurement --runs times (default 3) with a fresh manager and agent each time;
prints the median of each figure with its range, and the verdict on the target: end-to-end
events/s per manager core >= 70% of the engine's single-thread rate. --doc also writes them
into docs/performance.md (as `make bench` does).
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LOCAL_DECODER = """<decoder name="web-accesslog-docker">
  <parent>json</parent>
  <type>web-log</type>
  <use_own_name>true</use_own_name>
  <prematch offset="after_parent">^log":"\\S+ \\S+ \\S+ \\.*[\\S+ \\S\\d+] \\.*"\\w+ \\S+ HTTP\\S+" \\d+</prematch>
  <regex offset="after_parent">^log":"(\\S+) \\S+ \\S+ \\.*[\\S+ \\S\\d+] \\.*"(\\w+) (\\S+) HTTP\\S+" (\\d+)</regex>
  <order>srcip,protocol,url,id</order>
</decoder>

<decoder name="json">
  <parent>json</parent>
  <use_own_name>true</use_own_name>
  <plugin_decoder>JSON_Decoder</plugin_decoder>
</decoder>
"""

ACTIONS = ["create", "start", "pause", "unpause", "kill", "die", "stop", "destroy"]
PATHS = ["/", "/index.html", "/api/v1/items?page=2", "/static/app.js", "/login",
         "/users/?id=SELECT+*+FROM+users", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
         "/../../etc/passwd"]


def events(n, seed=7):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2 == 0 or i == n - 1:
            cid = "%064x" % rnd.getrandbits(256)
            act = ACTIONS[i // 2 % len(ACTIONS)]
            t = 1700000000 + i
            ev = {"status": act, "id": cid, "from": "nginx", "Type": "container",
                  "Action": act, "Actor": {"ID": cid, "Attributes": {
                      "image": "nginx", "name": f"web-{i % 50}"}},
                  "scope": "local", "time": t, "timeNano": t * 10**9 + i}
            out.append(json.dumps({"integration": "docker", "docker": ev},
                                  separators=(",", ":")))
        else:
            ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            path = PATHS[rnd.randrange(len(PATHS))]
            code = 404 if "users" in path or "passwd" in path else 200
            log = (f'{ip} - - [12/May/2023:14:12:{i % 60:02d} +0000] "GET {path} HTTP/1.1" '
                   f'{code} 153 "-" "curl/7.68.0" "-"\n')
            out.append(json.dumps({"log": log, "stream": "stdout",
                                   "time": "2023-05-12T14:12:14.882936144Z"},
                                  separators=(",", ":")))
    return out


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit(f"manager_e2e: timed out waiting for {what}")


def stats(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def measure(a):
    """One run: a fresh manager and agent; returns the figures of that run."""
    bindir = os.path.join(a.build, "bin")
    work = tempfile.mkdtemp(prefix="tld-bench-e2e-")
    mroot, aroot = os.path.join(work, "manager"), os.path.join(work, "agent")
    remote, auth = free_ports(2)
    os.makedirs(os.path.join(mroot, "etc/decoders"))
    with open(os.path.join(mroot, "etc/decoders/local_decoder.xml"), "w") as f:
        f.write(LOCAL_DECODER)
    workers = f"<workers>{a.workers}</workers>" if a.workers else ""
    with open(os.path.join(mroot, "etc/manager.conf"), "w") as f:
        f.write(f"""<ossec_config>
  <alerts><log_alert_level>3</log_alert_level></alerts>
  <remote><port>{remote}</port><local_ip>127.0.0.1</local_ip></remote>
  <auth><port>{auth}</port><local_ip>127.0.0.1</local_ip></auth>
  <manager><local_collection>no</local_collection>{workers}</manager>
</ossec_config>
""")
    src = os.path.join(work, "events.log")
    os.makedirs(os.path.join(aroot, "etc"))
    with open(os.path.join(aroot, "etc/agent.conf"), "w") as f:
        f.write(f"""<ossec_config>
  <client><server><address>127.0.0.1</address><port>{remote}</port></server>
    <enrollment><port>{auth}</port><agent_name>bench</agent_name></enrollment></client>
  <localfile><log_format>syslog</log_format><location>{src}</location></localfile>
</ossec_config>
""")
    lines = events(a.events)
    staged = os.path.join(work, "staged.log")
    with open(staged, "w") as f:
        f.write("\n".join(lines) + "\n")

    env = dict(os.environ, TLD_RULESET_SRC=os.path.join(ROOT, "ruleset"))
    mstats = os.path.join(mroot, "var/run/tld-manager.stats.json")
    astats = os.path.join(aroot, "var/run/tld-agent.stats.json")
    mgr = subprocess.Popen([os.path.join(bindir, "tld-manager"), "-r", mroot],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    agent = None
    try:
        wait(lambda: stats(mstats), 60, "the manager")
        agent = subprocess.Popen([os.path.join(bindir, "tld-agent"), "-r", aroot],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: (s := stats(astats)) and s.get("forwarder", {}).get("connected"), 60,
             "the agent to connect")
        base = wait(lambda: stats(mstats), 10, "manager stats")["analysis"]["processed"]
        # Settle the start-up own events.
        time.sleep(1.5)
        base = stats(mstats)["analysis"]["processed"]
        apath = os.path.join(mroot, "logs/alerts/alerts.json")
        last = {"size": os.path.getsize(apath) if os.path.exists(apath) else 0,
                "t": time.monotonic(), "cpu": (0.0, 0.0)}

        def finished():
            # The stats file is rewritten once a second; the end is when alerts.json last grew.
            size = os.path.getsize(apath) if os.path.exists(apath) else 0
            if size != last["size"]:
                last["size"], last["t"] = size, time.monotonic()
                last["cpu"] = (cpu_seconds(mgr.pid), cpu_seconds(agent.pid))
            s = stats(mstats)
            return s and s["analysis"]["processed"] >= target and s
        perf = None
        if a.perf:
            perf = subprocess.Popen(["perf", "record", "-g", "-o", a.perf, "-p", str(mgr.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        m0, a0 = cpu_seconds(mgr.pid), cpu_seconds(agent.pid)
        t0 = time.monotonic()
        os.rename(staged, src)
        target = base + a.events
        done = wait(finished, 1800, "the events to be analysed")
        t1 = last["t"]
        m1, a1 = last["cpu"]
        alerts = done["analysis"]["alerts"]
        if perf:
            perf.send_signal(2)
            perf.wait(30)
    finally:
        for p in (agent, mgr):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
    wall = t1 - t0
    mcpu, acpu = m1 - m0, a1 - a0

    # The engine alone, one thread, on the same events (CPU time of tld-logtest --json).
    rules_src = os.path.join(ROOT, "ruleset")
    ldec = os.path.join(mroot, "etc/decoders/local_decoder.xml")
    lt = subprocess.Popen([os.path.join(bindir, "tld-logtest"), "--ruleset", rules_src,
                           "--decoders", ldec, "--json", "-f", src, "--log-alert-level", "3"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(lt.pid, 0)
    engine_cpu = ru.ru_utime + ru.ru_stime
    engine_rate = a.events / engine_cpu

    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"manager_e2e: kept {work}")
    rate = a.events / wall
    cores = mcpu / wall
    per_core = rate / cores if cores else rate
    return {"rate": rate, "wall": wall, "cores": cores, "alerts": alerts,
            "mgr_us": mcpu / a.events * 1e6, "agent_us": acpu / a.events * 1e6,
            "engine_rate": engine_rate, "engine_cpu": engine_cpu,
            "ratio": per_core / engine_rate}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3, help="runs; figures are their medians")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--perf", help="record the manager with perf into this file (one run)")
    ap.add_argument("--doc", action="store_true",
                    help="write the figures into docs/performance.md (bench/doc_section.py)")
    a = ap.parse_args()
    runs = [measure(a) for _ in range(1 if a.perf else max(1, a.runs))]

    def med(k):
        return statistics.median(r[k] for r in runs)

    def span(k, fmt):
        lo, hi = min(r[k] for r in runs), max(r[k] for r in runs)
        return f"[{fmt.format(lo)}–{fmt.format(hi)}]" if len(runs) > 1 else ""

    ratio = med("ratio")
    verdict = "ok" if ratio >= 0.7 else "BELOW TARGET"
    lines = [
        f"{a.events} events (Docker events and container web-log lines), "
        f"{int(med('alerts'))} alerts; medians of {len(runs)} runs [min–max]",
        f"end-to-end rate               {med('rate'):10.0f} events/s {span('rate', '{:.0f}')}",
        f"manager CPU per event         {med('mgr_us'):10.1f} us {span('mgr_us', '{:.1f}')} "
        f"({med('cores'):.2f} cores busy)",
        f"agent CPU per event           {med('agent_us'):10.1f} us {span('agent_us', '{:.1f}')}",
        f"engine single-thread rate     {med('engine_rate'):10.0f} events/s "
        f"{span('engine_rate', '{:.0f}')} (tld-logtest, CPU time)",
        f"end-to-end per manager core / engine rate = {ratio * 100:.0f}% "
        f"{span('ratio', '{:.0%}')} (target >= 70%): {verdict}",
    ]
    for line in lines:
        print("manager_e2e: " + line)
    if a.doc and not a.perf:
        text = (f"`bash bench/manager_e2e.sh` (release build; part of `make bench`), "
                f"{time.strftime('%Y-%m-%d', time.gmtime())}. One agent follows a file that "
                f"appears at once with {a.events} events (half Docker events as the listener "
                "ships them, half container web-log lines, some of them attacks); a manager on "
                "127.0.0.1 receives them over mutual TLS, journals them durably, analyses them "
                "with the project's ruleset plus the mission's local decoders and writes "
                "`alerts.json`. The rate is from the file's appearance to the last alert written; "
                "CPU is each process's utime + stime over that window; the engine rate is "
                "`tld-logtest --json` (CPU time) on the same events.\n\n```\n"
                + "\n".join(lines) + "\n```\n")
        subprocess.run([sys.executable, os.path.join(HERE, "doc_section.py"), "manager",
                        "End to end (agent -> manager -> alerts.json)"],
                       input=text, text=True, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Faults a bad day brings, with no restart: the manager runs out of descriptors while events
flow, the disk holding alerts.json fills up, and an address floods it with refused peers. Each
time alerting resumes by itself, every event is alerted exactly once, and what the manager says
about it (own events, its log) stays bounded. No dockerd needed: events come from a file the
manager follows itself (local collection)."""
import os
import re
import resource
import socket
import subprocess
import threading
import time

import pytest

from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401

RULES = """<group name="faults,">
  <rule id="100700" level="3">
    <match>ft-event</match>
    <description>fault test event</description>
  </rule>
  <!-- The project's rules 509 and 510, for the own events in this minimal ruleset. -->
  <rule id="100709" level="10">
    <decoded_as>json</decoded_as>
    <field name="threatlockdown.event">^stage_stalled$</field>
    <description>stage stalled</description>
  </rule>
  <rule id="100710" level="3">
    <decoded_as>json</decoded_as>
    <field name="threatlockdown.event">^stage_recovered$</field>
    <description>stage recovered</description>
  </rule>
</group>
"""

NUM = re.compile(rb'"full_log":"ft-event (\d{7})')


class Writer(threading.Thread):
    """Appends `total` numbered lines to `path` at about `rate` lines a second."""

    def __init__(self, path, total, rate, first=1, pad=0):
        super().__init__(daemon=True)
        self.path, self.total, self.rate, self.first, self.pad = path, total, rate, first, pad
        self.written = 0

    def run(self):
        chunk = max(1, self.rate // 10)
        filler = b" " + b"x" * self.pad if self.pad else b""
        with open(self.path, "ab", buffering=0) as f:
            while self.written < self.total:
                n = min(chunk, self.total - self.written)
                f.write(b"".join(b"ft-event %07d%s\n" % (self.first + self.written + i, filler)
                                 for i in range(n)))
                self.written += n
                time.sleep(0.1)


def counts(m):
    """Occurrences of each event number among the complete lines of alerts.json."""
    with open(m.alerts_path, "rb") as f:
        data = f.read()
    data = data[:data.rfind(b"\n") + 1]
    seen = {}
    for mt in NUM.finditer(data):
        k = int(mt.group(1))
        seen[k] = seen.get(k, 0) + 1
    return seen


def assert_exactly_once(m, first, last, timeout=120):
    want = last - first + 1
    try:
        wait_until(lambda: len([k for k in counts(m) if first <= k <= last]) >= want, timeout,
                   interval=0.5, what=f"{want} distinct alerts")
    except AssertionError:
        seen = counts(m)
        missing = [k for k in range(first, last + 1) if k not in seen]
        raise AssertionError(f"{len(missing)} events without an alert (first {missing[:10]}); "
                             f"stats {m.stats()}\n{m.log_tail()}")
    time.sleep(1.5)
    seen = counts(m)
    dups = {k: c for k, c in seen.items() if c != 1}
    assert not dups, f"{len(dups)} events alerted more than once, e.g. {list(dups.items())[:5]}"
    assert sorted(k for k in seen if first <= k <= last) == list(range(first, last + 1))


def local_manager(manager_factory, tmp_path, src, **kw):
    return manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs"), RULES), local=True,
                           extra=f"<localfile><log_format>syslog</log_format>"
                                 f"<location>{src}</location></localfile>", **kw)


# ---- (a) descriptors run out -----------------------------------------------------------------

FD_LIMIT = 200


def test_descriptor_exhaustion_analysis_continues(manager_factory, tmp_path):
    src = str(tmp_path / "events.log")
    open(src, "w").close()
    m = local_manager(manager_factory, tmp_path, src, logall_json=False)
    # Soft and hard limit both low: the manager raises its soft limit to the hard one.
    m.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    m.start()
    assert f"open descriptor limit: {FD_LIMIT}" in m.log_text()
    total = 30000
    w = Writer(src, total, 3000)
    w.start()
    time.sleep(1)
    # Idle TCP connections (no TLS hello) to the agents' port from many loopback addresses (one
    # address alone is held to 16) until the manager has no descriptor left.
    socks = []
    for i in range(FD_LIMIT * 2):
        s = socket.socket()
        s.bind((f"127.0.2.{1 + i // 10}", 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", m.remote_port))
        except OSError:
            s.close()
            break
        socks.append(s)
    time.sleep(4)  # events keep coming while the descriptors are gone
    st = m.stats()["remote"]
    print(f"{len(socks)} connections opened (descriptor limit {FD_LIMIT}): {st['accept_errors']} "
          f"accept failures, {st['evicted']} oldest pending connections closed to make room")
    assert st["accept_errors"] > 0, "the descriptors never ran out: the test proves nothing"
    assert st["evicted"] > 0
    for s in socks:
        s.close()
    w.join(timeout=60)
    assert w.written == total
    assert_exactly_once(m, 1, total)
    assert m.alive(), "the manager exited"
    st = m.stats()
    print(f"analysis after the exhaustion: {st['analysis']}")
    # More events after the connections are gone: still analysed, without a restart.
    w2 = Writer(src, 1000, 2000, first=total + 1)
    w2.start()
    w2.join(timeout=30)
    assert_exactly_once(m, 1, total + 1000)
    m.stop()


# ---- (b) the disk holding alerts.json fills up ----------------------------------------------

def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {r.stdout!r}")


def test_full_disk_alerting_resumes_exactly_once(manager_factory, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a tmpfs and needs root")
    src = str(tmp_path / "events.log")
    open(src, "w").close()
    m = local_manager(manager_factory, tmp_path, src, logall_json=False)
    alerts_dir = os.path.join(m.root, "logs", "alerts")
    mount_tmpfs(alerts_dir, "4m")
    partial_seen = []
    stop_watch = threading.Event()

    def ends_with_partial_line():
        """The file's size when its last line is incomplete, else None."""
        try:
            with open(m.alerts_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                if size:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        return size
        except OSError:
            pass
        return None

    def watch():
        # A reader polling the end of alerts.json. A write in progress may show part of a line
        # for an instant (the file grows page by page); a partial line must never stay there,
        # which is what a failed write would do.
        while not stop_watch.is_set():
            size = ends_with_partial_line()
            if size is not None:
                time.sleep(0.3)
                if ends_with_partial_line() == size:
                    partial_seen.append(size)
            time.sleep(0.005)
    watcher = threading.Thread(target=watch, daemon=True)
    try:
        m.start()
        watcher.start()
        # Leave a little room only, then send events until the alerts no longer fit.
        filler = os.path.join(alerts_dir, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (4 * 1024 * 1024 - 400 * 1024))
        total = 6000
        w = Writer(src, total, 2000, pad=200)  # ~ 1 KB alerts: about 400 fit
        w.start()
        wait_until(lambda: m.stats()["analysis"]["output_stalled"], 60,
                   what="the output stalled on the full disk")
        w.join(timeout=60)
        time.sleep(3)
        st = m.stats()["analysis"]
        print(f"stalled: {st}")
        assert st["output_stalled"] and st["output_stalls"] == 1
        assert "output: stalled" in m.log_text()
        before = len(counts(m))
        assert before < total
        # Free the space: alerting resumes by itself.
        os.unlink(filler)
        t0 = time.monotonic()
        assert_exactly_once(m, 1, total)
        print(f"{total - before} alerts written {time.monotonic() - t0:.1f} s after space was "
              f"freed")
        wait_until(lambda: not m.stats()["analysis"]["output_stalled"], 10,
                   what="the output no longer stalled")
        stop_watch.set()
        watcher.join()
        assert not partial_seen, f"partial last line seen at sizes {partial_seen[:5]}"
        al = m.alerts()
        stalled = [a for a in al if a["rule"]["id"] == "100709"]
        recovered = [a for a in al if a["rule"]["id"] == "100710"]
        assert len(stalled) == 1 and len(recovered) == 1, (stalled, recovered)
        assert '"stage":"output"' in stalled[0]["full_log"]
        m.stop()
    finally:
        stop_watch.set()
        if m.alive():
            m.kill9()
        subprocess.run(["umount", "-l", alerts_dir])


# ---- (c) a flood of refused peers ------------------------------------------------------------

def test_refused_flood_bounded(manager_factory, tmp_path):
    m = manager_factory(ruleset_src=os.path.join(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), "ruleset"), password="right-one")
    m.extra_env = {"TLD_LOG_MAX_BYTES": "5000", "TLD_LOG_KEEP": "3"}
    m.start()
    bad = str(tmp_path / "bad.pass")
    with open(bad, "w") as f:
        f.write("wrong\n")
    seconds = 4
    attempts = [0]
    deadline = time.monotonic() + seconds

    def enroll_loop(k):
        i = 0
        while time.monotonic() < deadline:
            m.enroll(str(tmp_path / f"e{k}-{i}"), f"fl-{k}-{i}", bad)
            attempts[0] += 1
            i += 1

    def garbage_loop():
        # Connections that are not TLS at all, to both ports: refused sessions. From addresses
        # of their own: one address is held to a few pending connections, which would refuse
        # the enrollments above before they are even read.
        n = 0
        while time.monotonic() < deadline:
            n += 1
            for port in (m.remote_port, m.auth_port):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1,
                                                  source_address=(f"127.0.9.{1 + n % 100}",
                                                                  0)) as s:
                        s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 4)
                except OSError:
                    pass
            attempts[0] += 1
    threads = [threading.Thread(target=enroll_loop, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=garbage_loop) for _ in range(2)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    time.sleep(1.5)
    # One more refused session after the flood: the site logs again, with the count of the lines
    # it held back (a suppression is reported by the next line the site may write).
    for port in (m.remote_port, m.auth_port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        except OSError:
            pass
    time.sleep(1.5)
    st = m.stats()
    refused = st["enrollment"]["refused"]  # bad password and rate limited alike
    tls = st["enrollment"]["tls_failures"] + st["remote"]["tls_failures"]
    own = m.own_events("enrollment_refused")
    alerts = [a for a in m.alerts() if a["rule"]["id"] in ("508", "512", "542")]
    logs = [os.path.join(m.dir, n) for n in os.listdir(m.dir) if n.startswith("manager.log")]
    log_bytes = sum(os.path.getsize(p) for p in logs)
    print(f"{attempts[0]} attempts in {took:.1f} s: {refused} enrollments refused, {tls} TLS "
          f"failures; {len(own)} own events, {len(alerts)} alerts "
          f"({len(alerts) / took:.1f}/s); log files {len(logs)}, {log_bytes} bytes "
          f"({log_bytes / took:.0f} B/s)")
    assert refused >= 3 and tls >= 100, "the flood did not reach the manager"
    assert 1 <= len(own) <= 2, own  # the first, and at most a count after the interval
    assert st["own_events"]["refusals_folded"] >= refused - 2
    assert len(alerts) <= 3
    # The log: bounded in size and rotated, with the suppression counted.
    assert os.path.exists(m.logfile + ".1"), "the log was not rotated"
    assert not os.path.exists(m.logfile + ".4"), "more rotated logs kept than configured"
    assert log_bytes <= 4 * 6000
    text = "".join(open(p, errors="replace").read() for p in logs)
    assert "similar messages suppressed" in text
    m.stop()

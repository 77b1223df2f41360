"""Hot reload and the control channel of a real tld-manager on loopback (no dockerd).

The manager follows a local file while a writer appends numbered events to it without pause;
meanwhile it is reloaded several times, by SIGHUP and by the control channel's "reload": a rule
added by a reload takes over from the events after it, a broken rules file and a changed
<remote><port> are refused (with file, line and element, or the setting's name) and the old
ruleset stays, and in the end every event has exactly one alert. The control channel refuses a
peer of another user, answers unknown ops and garbage, survives an oversized request and an idle
client, and lists and removes an enrolled, connected agent, closing its connection."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401

# Every event "seqev N" gets an alert of 100500; a reload may add 100501 (a child taking the
# events whose number ends in 7), so each event still has exactly one alert.
BASE_RULES = """<group name="reloadtest,">
  <rule id="100500" level="3">
    <match>seqev </match>
    <description>numbered event</description>
  </rule>
</group>
"""

SEVEN_RULE = """<group name="reloadtest,">
  <rule id="100501" level="5">
    <if_sid>100500</if_sid>
    <regex>seqev \\d*7$</regex>
    <description>numbered event ending in 7</description>
  </rule>
</group>
"""

BROKEN_RULE = """<group name="reloadtest,">
  <rule id="100502" level="5">
    <if_sid>100500</if_sid>
    <no_such_option>x</no_such_option>
  </rule>
</group>
"""


def ctl_path(m):
    return os.path.join(m.root, "var/run/tld-manager.ctl")


def ctl_raw(path, data, shut=True, timeout=30):
    """Send bytes, read until the manager closes; the reply bytes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the manager stopped reading (too large); its reply is still there
    if shut:
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    s.close()
    return out


def ctl(m, req):
    out = ctl_raw(ctl_path(m), json.dumps(req).encode() + b"\n")
    assert out.endswith(b"\n") and out.count(b"\n") == 1, out
    return json.loads(out)


class Writer(threading.Thread):
    """Appends "seqev N" lines, N = 1.., a few per few milliseconds, until stopped."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.n, self.halt = path, 0, threading.Event()

    def run(self):
        with open(self.path, "a") as f:
            while not self.halt.is_set() and self.n < 20000:
                for _ in range(5):
                    f.write(f"seqev {self.n + 1}\n")
                    f.flush()
                    self.n += 1
                time.sleep(0.01)


def reload_count(m):
    st = m.stats() or {}
    r = st.get("reload", {})
    return r.get("reloads", 0) + r.get("failures", 0)


def sighup_reload(m, nth):
    """SIGHUP, then wait for the stats to count `nth` reloads (tried, of any outcome)."""
    m.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: reload_count(m) >= nth, 60, what=f"reload {nth} (SIGHUP)")
    return m.stats()["reload"]


def test_reload_while_streaming(manager_factory, tmp_path):
    src = str(tmp_path / "events.log")
    open(src, "w").close()
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs"), BASE_RULES),
                        local=True, logall_json=False,
                        extra=f"<localfile><log_format>syslog</log_format>"
                              f"<location>{src}</location></localfile>")
    m.start()
    local_rules = os.path.join(m.root, "etc/rules/local_rules.xml")
    conf_path = os.path.join(m.root, "etc/manager.conf")
    good_conf = open(conf_path).read()
    st = ctl(m, {"op": "status"})
    assert st["error"] == 0 and st["pid"] == m.proc.pid and st["reloads"] == 0
    assert st["ruleset_loaded"] >= st["started"] > 0

    w = Writer(src)
    w.start()
    # (events analysed before the request, events written when the reply came, rule on after)
    switches = []

    def analysed():
        """The events analysed so far (every one up to this number has its alert)."""
        got = sorted(int(a["full_log"].split()[1]) for a in m.alerts()
                     if a["rule"]["id"] in ("100500", "100501"))
        k = 0
        while k < len(got) and got[k] == k + 1:
            k += 1
        return k

    def timed(fn, seven_after):
        before = analysed()
        out = fn()
        switches.append((before, w.n, seven_after))
        return out

    try:
        wait_until(lambda: w.n > 300, 30, what="the writer to start")
        # 1. The channel: a rule is added.
        with open(local_rules, "w") as f:
            f.write(SEVEN_RULE)
        r = timed(lambda: ctl(m, {"op": "reload"}), True)
        assert r["error"] == 0 and r["message"] == "reloaded", r
        assert r["rules"] >= 3 and r["decoders"] >= 1 and "lists" in r
        time.sleep(0.5)
        # 2. SIGHUP with nothing changed.
        assert sighup_reload(m, 2)["last_result"] == "reloaded"
        # 3. A broken rules file: refused with file, line and element; the old ruleset stays.
        with open(local_rules, "w") as f:
            f.write(SEVEN_RULE + BROKEN_RULE)
        r = ctl(m, {"op": "reload"})
        assert r["error"] == 1, r
        bad = [e for e in r["errors"] if e["file"] == "etc/rules/local_rules.xml"]
        assert bad and bad[0]["line"] == SEVEN_RULE.count("\n") + 4, r
        assert bad[0]["element"] == "no_such_option", r
        assert "etc/rules/local_rules.xml" in r["message"], r
        # 4. The same by SIGHUP: logged, counted, nothing changes.
        assert sighup_reload(m, 4)["failures"] == 2
        # 5. A setting that needs a restart: refused by name, nothing applied (not even the
        # ruleset, which is fixed meanwhile).
        with open(local_rules, "w") as f:
            f.write(SEVEN_RULE)
        with open(conf_path, "w") as f:
            f.write(good_conf.replace(f"<port>{m.remote_port}</port>",
                                      f"<port>{m.remote_port + 1}</port>"))
        r = ctl(m, {"op": "reload"})
        assert r["error"] == 2 and r["message"] == \
            "<remote><port> cannot change without a restart", r
        assert r["errors"][0]["file"] == "etc/manager.conf"
        assert r["errors"][0]["element"] == "port"
        with open(conf_path, "w") as f:
            f.write(good_conf)
        time.sleep(0.5)
        # 6. SIGHUP: the rule goes away.
        with open(local_rules, "w") as f:
            f.write("<!-- none -->\n")
        assert timed(lambda: sighup_reload(m, 6), False)["last_result"] == "reloaded"
        time.sleep(0.5)
        # 7. The channel: it comes back.
        with open(local_rules, "w") as f:
            f.write(SEVEN_RULE)
        assert timed(lambda: ctl(m, {"op": "reload"}), True)["error"] == 0
        time.sleep(1)
    finally:
        w.halt.set()
        w.join(10)
    total = w.n
    assert total > 1000

    def all_there(al):
        return len([a for a in al if a["rule"]["id"] in ("100500", "100501")]) >= total
    m.wait_alerts(all_there, 120, what=f"{total} alerts")
    time.sleep(1)
    seen = {}
    for a in m.alerts():
        if a["rule"]["id"] not in ("100500", "100501"):
            continue
        n = int(a["full_log"].split()[1])
        assert n not in seen, f"event {n} analysed twice"
        seen[n] = a["rule"]["id"]
    assert sorted(seen) == list(range(1, total + 1)), "events lost"

    # Numbers ending in 7 follow the rule in force. Events already analysed when a reload was
    # asked for had the old ruleset; events written after its answer have the new one; in
    # between (written, not yet analysed) the change happens once, at one journal position.
    sevens = range(7, total + 1, 10)
    state, prev_after = False, 0
    for analysed, after, on in switches:
        for n in sevens:
            if prev_after < n <= analysed:
                assert (seen[n] == "100501") == state, (n, seen[n], state)
        window = [seen[n] == "100501" for n in sevens if max(analysed, prev_after) < n <= after]
        assert window == sorted(window, reverse=state), (analysed, after, on, window)
        state, prev_after = on, after
    for n in sevens:
        if n > prev_after:
            assert seen[n] == "100501", n
    assert all(seen[n] == "100500" for n in range(1, total + 1) if n % 10 != 7)

    st = m.stats()["reload"]
    assert st["reloads"] == 4 and st["failures"] == 3, st
    assert ctl(m, {"op": "status"})["reloads"] == 4
    log = m.log_text()
    assert "reload refused, the running configuration and ruleset stay" in log
    assert "<remote><port> cannot change without a restart" in log
    m.stop()


def test_control_channel(manager_factory, agent_factory, tmp_path):
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs")), password=None)
    m.start()
    path = ctl_path(m)
    assert os.stat(path).st_mode & 0o777 == 0o660
    assert ctl(m, {"op": "nope"}) == {"error": 22, "message": "unknown op 'nope'"}
    assert ctl_raw(path, b"\x00\xff garbage {{{\n")[:12] == b'{"error":22,'
    assert ctl_raw(path, b'{"op":"status"')[:11] == b'{"error":22'
    # An idle client holds a slot, not the channel.
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(path)
    t0 = time.monotonic()
    assert ctl(m, {"op": "status"})["error"] == 0
    assert time.monotonic() - t0 < 5
    # Over 4 MiB: refused, and the channel still answers.
    big = b'{"op":"status","pad":"' + b"a" * (5 << 20) + b'"}\n'
    out = ctl_raw(path, big)
    assert json.loads(out)["error"] == 7, out
    assert ctl(m, {"op": "status"})["error"] == 0
    idle.close()

    # An enrolled, connected agent: listed active, then removed and disconnected.
    log = tmp_path / "app.log"
    log.write_text("")
    ag = agent_factory(m.agent_config(localfiles=[("syslog", str(log))], name="ctl-1"),
                       name="agent", output=None)
    ag.start()
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected"), 60,
               what="agent connected")

    def listed():
        r = ctl(m, {"op": "agents"})
        a = [x for x in r["agents"] if x["name"] == "ctl-1"]
        return a and a[0]["status"] == "active" and a[0]
    a = wait_until(listed, 30, what="ctl-1 active in the agents op")
    assert a["id"] == "001" and a["ip"] == "127.0.0.1" and a["date_add"] > 0
    assert a["last_keepalive"] > 0 and a["version"] and a["hostname"]
    assert ctl(m, {"op": "agent_remove", "id": "002"}) == {"error": 2, "message": "no agent 002"}
    assert ctl(m, {"op": "agent_remove", "id": "001"}) == {"error": 0,
                                                           "message": "agent 001 removed"}
    assert ctl(m, {"op": "agents"}) == {"error": 0, "agents": []}
    wait_until(lambda: "agent 001 removed; its connection is closed" in m.log_text(), 10,
               what="the removal logged")
    wait_until(lambda: not ((s := ag.stats()) and s.get("forwarder", {}).get("connected")), 30,
               what="the agent's connection closed")
    assert "ctl-1" not in m.cli("agents", "list").stdout.decode()
    m.wait_own("agent_removed")

    # A peer of another user is refused by its credentials alone: the test opens the path's
    # permissions so that nothing else stands in the way.
    if os.geteuid() != 0:
        pytest.skip("needs root to connect as another user")
    d = os.path.dirname(path)
    while d != "/":
        os.chmod(d, os.stat(d).st_mode | 0o001)
        d = os.path.dirname(d)
    os.chmod(path, 0o666)
    # The refusal comes at once, before any request is read: sending may find the socket shut.
    client = ("import socket,sys\n"
              "s = socket.socket(socket.AF_UNIX); s.settimeout(20)\n"
              f"s.connect({path!r})\n"
              "try: s.sendall(b'{\"op\":\"status\"}\\n')\n"
              "except OSError: pass\n"
              "sys.stdout.write(s.recv(4096).decode())\n")
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "/usr/bin/python3", "-c", client], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"error": 13, "message": "not allowed"}
    m.stop()

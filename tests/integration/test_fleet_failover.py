"""Two managers of one fleet (docs/scaling.md): they share the CA (and its ticket key) and the
agent registry (<manager><registry_dir>); a real agent lists both, the first preferred. Events
stream from a file; the first manager is killed with SIGKILL mid-stream, the agent fails over to
the second, then the first comes back and the agent moves back to it. Afterwards every event
has an alert on one manager or the other (nothing lost), each manager has at most one alert per
event, and the events with an alert on both are no more than what was in flight at the kill.
Finally the agent is removed through the second manager and the first one refuses it too.
Needs no dockerd."""
import os
import re
import shutil
import time

from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from writers import EventWriter

TOTAL = 20000
RATE = 2000
RULES = """<group name="fleet,">
  <rule id="100200" level="3">
    <match>fo-event</match>
    <description>failover test event</description>
  </rule>
</group>
"""
NUM = re.compile(rb'"full_log":"fo-event (\d{7})"')


def counts(m):
    seen = {}
    if os.path.exists(m.alerts_path):
        with open(m.alerts_path, "rb") as f:
            data = f.read()
        for mt in NUM.finditer(data[:data.rfind(b"\n") + 1]):
            k = int(mt.group(1))
            seen[k] = seen.get(k, 0) + 1
    return seen


def test_failover_and_back_zero_loss_and_shared_removal(manager_factory, agent_factory,
                                                         tmp_path):
    registry = str(tmp_path / "registry")
    os.makedirs(registry)
    rs = minimal_ruleset(str(tmp_path / "rs"), RULES)
    extra = f"<registry_dir>{registry}</registry_dir>"
    a = manager_factory(name="mgr-a", ruleset_src=rs, logall_json=False, manager_extra=extra)
    b = manager_factory(name="mgr-b", ruleset_src=rs, logall_json=False, manager_extra=extra)
    a.start()
    # One fleet: the second manager gets the first one's CA, certificate and ticket key.
    shutil.copytree(os.path.join(a.root, "var/ca"), os.path.join(b.root, "var/ca"))
    b.start()

    src = str(tmp_path / "events.log")
    open(src, "w").close()
    servers = "".join(f"<server><address>127.0.0.1</address><port>{m.remote_port}</port>"
                      "</server>" for m in (a, b))
    cfg = a.agent_config(localfiles=[("syslog", src)], name="fo")
    cfg = re.sub(r"<server>.*?</server>", servers + "<failback_interval>3</failback_interval>",
                 cfg, count=1, flags=re.S)
    ag = agent_factory(cfg, name="agent", output=None)
    ag.start()
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected"), 60,
               what="agent connected")

    w = EventWriter(src, b"fo-event", TOTAL, RATE)
    w.start()
    wait_until(lambda: len(counts(a)) > TOTAL // 4, 60, what="a quarter of the alerts on A")
    a.kill9()
    wait_until(lambda: len(counts(b)) > 0, 60, what="alerts on B after the failover")
    time.sleep(2)
    a.start()
    wait_until(lambda: "moving back" in open(ag.logfile, errors="replace").read(), 60,
               what="the agent moving back to A")
    w.join(timeout=TOTAL / RATE + 60)
    assert w.written == TOTAL

    def union():
        sa, sb = counts(a), counts(b)
        return len(set(sa) | set(sb)) >= TOTAL and (sa, sb)
    sa, sb = wait_until(union, 180, interval=1, what=f"{TOTAL} events with an alert")
    assert sorted(set(sa) | set(sb)) == list(range(1, TOTAL + 1))
    assert all(c == 1 for c in sa.values()), "an event twice on A"
    assert all(c == 1 for c in sb.values()), "an event twice on B"
    both = set(sa) & set(sb)
    # At most what was sent and not yet acknowledged when A died (the agent's window).
    print(f"alerts on A {len(sa)}, on B {len(sb)}, on both {len(both)}")
    assert len(both) <= 8 * 1024

    # Removed through B: A (sharing the registry) closes the session and refuses the agent.
    agent_id = ag.stats()["forwarder"]["agent_id"]
    p = b.cli("agents", "remove", agent_id)
    assert p.returncode == 0, p.stderr
    wait_until(lambda: "agent removed" in a.log_text(), 30, what="A refusing the removed agent")
    wait_until(lambda: ag.stats()["forwarder"]["refusals"] >= 1, 30, what="agent refused")
    ag.stop()
    a.stop()
    b.stop()

"""`tld-manager status` and `tld-agent status` (docs/install.md §3) against daemons of the
build tree: the LSB exit codes (3 not running, 0 running, 1 degraded, 4 root unreadable) and the
lines scripts and people read (agents connected, lag, journal and spool, last event). No dockerd
needed: the agent follows a file."""
import os
import subprocess

from agentlib import agent_bin, wait_until
from mgrlib import manager_bin, manager_factory  # noqa: F401


def status(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode()


def test_status_codes_and_lines(manager_factory, agent_factory, tmp_path):
    m = manager_factory(password=None)
    rc, out = status([manager_bin(), "-r", m.root, "status"])
    assert rc == 3 and "not running" in out, out
    m.start()
    log = tmp_path / "app.log"
    log.write_text("")
    conf = m.agent_config(localfiles=[("syslog", str(log))], name="st-agent")
    ag = agent_factory(conf, output=None)
    agent_status = [agent_bin(), "status", "-r", ag.root]
    rc, out = status(agent_status)
    assert rc == 3 and "not running" in out, out
    ag.start()
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected"), 60,
               what="the agent connected")
    with open(log, "a") as f:
        f.write("Dec  7 10:00:00 host app: hello\n")
    wait_until(lambda: (s := m.stats()) and s["analysis"]["processed"] >= 2, 30,
               what="the line analysed")

    rc, out = wait_until(lambda: (r := status([manager_bin(), "-r", m.root, "status"]))[0] == 0
                         and "1 connected" in r[1] and r, 30, what="manager status 0")
    assert f"running (pid {m.proc.pid}" in out, out
    for label in ("agents", "analysis lag", "intake journal", "outputs", "last event"):
        assert label in out, out
    assert "none yet" not in out, out  # the journal has the agent's events
    rc, out = wait_until(lambda: (r := status(agent_status))[0] == 0 and r, 30,
                         what="agent status 0")
    assert "connected as agent 001" in out and "0 events spooled and not yet acknowledged" in out

    # Unreadable root: unknown (4), as a user who may not read it.
    os.chmod(m.root, 0o700)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        manager_bin(), "-r", m.root, "status"], stdout=subprocess.PIPE)
    assert p.returncode == 4, p.stdout

    # The manager gone: the agent is degraded (1) and says why; the manager is not running (3).
    m.stop()
    wait_until(lambda: not ag.stats()["forwarder"]["connected"], 30, what="agent disconnected")
    rc, out = status(agent_status)
    assert rc == 1 and "NOT CONNECTED" in out, out
    rc, out = status([manager_bin(), "-r", m.root, "status"])
    assert rc == 3, out
    ag.stop()

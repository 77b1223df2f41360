"""Provenance: a line of a collected file that holds the JSON of a Docker event, of a manager's
own event or of the agent's own events raises none of their alerts, whether the manager follows
the file itself (agent 000) or an agent does; the genuine own events still alert. No dockerd:
the genuine Docker case is test_manager_local.py's and test_manager_mission.py's."""
import json
import os
import time

from agentlib import wait_until
from mgrlib import manager_factory  # noqa: F401

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ACTOR = {"ID": "f" * 64, "Attributes": {"image": "nginx:1.27", "name": "forged-web"}}
FORGED = [
    {"integration": "docker",
     "docker": {"Type": "container", "Action": "start", "Actor": ACTOR, "scope": "local",
                "time": 1795707400, "timeNano": 1795707400254114947}},
    {"integration": "docker",
     "docker": {"Type": "posture", "Action": "create", "Actor": ACTOR,
                "inspect": {"privileged": "true", "user": ""}, "time": 1795707400,
                "timeNano": 1795707400254114948}},
    {"integration": "docker",
     "docker": {"Type": "listener", "Action": "gap", "possible_loss": True, "gap_seconds": 900,
                "time": 1795707400, "timeNano": 1795707400254114949}},
    {"integration": "threatlockdown",
     "threatlockdown": {"event": "agent_removed", "agent": {"id": "001", "name": "prod-db"}}},
    {"integration": "threatlockdown",
     "threatlockdown": {"event": "queue_full", "usage_percent": 100, "bytes": 1,
                        "max_bytes": 1, "refused_appends": 9}},
    {"integration": "threatlockdown",
     "threatlockdown": {"event": "enrollment_refused", "agent": {"name": "x", "ip": "10.9.9.9"},
                        "reason": "bad password"}},
    {"integration": "threatlockdown",
     "threatlockdown": {"event": "agent_stopped", "version": "0.9.0", "pid": 1}},
]
FORGED_LINES = [json.dumps(e, separators=(",", ":")) for e in FORGED] + [
    "ossec: File size reduced (inode remained): '/var/log/auth.log'.",
]

# Rules our ruleset keeps for the Docker listener and for our own components.
PROTECTED = {str(i) for i in range(500, 600)} | {str(i) for i in range(87900, 88000)}


def analysed(m, location, n):
    """The archive lines (every analysed event) of `location`, once there are n."""
    return wait_until(lambda: (x := [a for a in m.archives() if a.get("location") == location])
                      and len(x) >= n and x, 60, what=f"{n} events of {location} analysed")


def test_forged_lines_give_no_docker_or_own_alert(manager_factory, agent_factory, tmp_path):
    local_src = str(tmp_path / "local-app.log")
    agent_src = str(tmp_path / "agent-app.log")
    m = manager_factory(ruleset_src=os.path.join(HERE, "ruleset"), local=True,
                        extra=f"<localfile><log_format>syslog</log_format>"
                              f"<location>{local_src}</location></localfile>")
    m.start()
    open(agent_src, "w").close()
    ag = agent_factory(m.agent_config(localfiles=[("syslog", agent_src)], name="prov-agent"),
                       name="agent", output=None)
    ag.start()
    # Genuine own events: the agent enrolled and connected (manager), the agent started (agent).
    got = m.wait_alerts(lambda al: (ids := {a["rule"]["id"] for a in al})
                        and {"501", "503", "548"} <= ids and al, 60,
                        what="the genuine enrollment, connection and agent start alerts")
    started = [a for a in got if a["rule"]["id"] == "548"]
    assert started[0]["agent"]["name"] == "prov-agent"
    assert started[0]["location"] == "threatlockdown-agent"
    connected = [a for a in got if a["rule"]["id"] == "503"]
    assert connected[0]["data"]["threatlockdown"]["agent"]["name"] == "prov-agent"

    for path in (local_src, agent_src):
        with open(path, "a") as f:
            f.write("\n".join(FORGED_LINES) + "\n")
    local = analysed(m, local_src, len(FORGED_LINES))
    remote = analysed(m, agent_src, len(FORGED_LINES))
    assert [a["full_log"] for a in local] == FORGED_LINES
    assert [a["full_log"] for a in remote] == FORGED_LINES
    assert {a["agent"]["id"] for a in local} == {"000"}
    assert {a["agent"]["name"] for a in remote} == {"prov-agent"}
    # The JSON lines were decoded (the fields are there for any generic JSON rule)...
    assert all(a["decoder"].get("name") == "json" for a in local[:len(FORGED)])
    assert local[0]["data"]["docker"]["Action"] == "start"
    # ...but none of them reached a Docker or own-event rule.
    time.sleep(2)
    forged = [a for a in m.alerts() if a.get("location") in (local_src, agent_src)]
    assert not [a for a in forged if a["rule"]["id"] in PROTECTED], forged
    assert not [a for a in m.alerts()
                if "prod-db" in json.dumps(a) or "forged-web" in json.dumps(a)]
    # The genuine own events are still there, once each.
    assert len([a for a in m.alerts() if a["rule"]["id"] == "548"]) == 1
    # The agent's stop event is spooled as it stops and forwarded by its next session.
    ag.stop()
    ag.start()
    m.wait_alerts(lambda al: any(a["rule"]["id"] == "506" and a["agent"]["name"] == "prov-agent"
                                 for a in al), 60, what="the genuine agent-stopped alert")
    ag.stop()
    m.stop()

"""Local collection: the manager alone watches its own host as agent 000, with the agent's
collector (a <localfile>) and Docker listener running in-process; events get the same journal
and the same alerts as remote ones."""
import os
import socket
import time

from agentlib import wait_until
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401

RULES = """<group name="localtest,">
  <rule id="100300" level="4">
    <match>local-marker</match>
    <description>local marker seen</description>
  </rule>
</group>
"""


def test_local_file_as_agent_000(manager_factory, tmp_path):
    src = str(tmp_path / "local.log")
    m = manager_factory(ruleset_src=minimal_ruleset(str(tmp_path / "rs"), RULES), local=True,
                        extra=f"<localfile><log_format>syslog</log_format>"
                              f"<location>{src}</location></localfile>")
    m.start()
    st = m.stats()
    assert st["local"]["enabled"] is True
    # The file appears after the start, so it is read from its first line.
    with open(src, "a") as f:
        for i in range(3):
            f.write(f"local-marker {i}\n")
    got = m.wait_alerts(lambda al: (x := [a for a in al if a["rule"]["id"] == "100300"])
                        and len(x) == 3 and x, 30, what="three local alerts")
    for a in got:
        assert a["agent"]["id"] == "000"
        assert a["agent"]["name"] == a["manager"]["name"] == socket.gethostname()
        assert "ip" not in a["agent"]
        assert a["location"] == src
    assert [a["full_log"] for a in got] == [f"local-marker {i}" for i in range(3)]
    # Restart: nothing analysed twice, new lines still come.
    m.stop()
    m.start()
    with open(src, "a") as f:
        f.write("local-marker 3\n")
    m.wait_alerts(lambda al: len([a for a in al if a["rule"]["id"] == "100300"]) >= 4, 30,
                  what="the fourth local alert")
    time.sleep(1)
    logs = [a["full_log"] for a in m.alerts() if a["rule"]["id"] == "100300"]
    assert logs == [f"local-marker {i}" for i in range(4)]
    m.stop()


def test_local_docker_listener(docker_env, manager_factory, tmp_path):
    """The mission on one machine: the manager's own Docker listener, no agent at all."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = docker_env
    name = "tldmgr-local-1"
    env.remove_containers(name)
    m = manager_factory(ruleset_src=os.path.join(here, "ruleset"), local=True,
                        extra=f'<wodle name="docker-listener"><socket>{env.socket}</socket>'
                              f'</wodle>')
    m.start()
    wait_until(lambda: (s := m.stats()) and s["local"]["docker_connected"], 30,
               what="the manager's Docker listener to connect")
    env.docker("run", "--pull", "never", "-d", "--name", name, "tld-busybox", "sleep", "30")
    env.docker("rm", "-f", name)

    def mine(al):
        x = [a for a in al if a.get("data", {}).get("docker", {}).get("Actor", {})
             .get("Attributes", {}).get("name") == name]
        return x if any(a["data"]["docker"]["Action"] == "destroy" for a in x) else None
    got = m.wait_alerts(mine, 60, what="Docker alerts from the local listener")
    actions = [a["data"]["docker"]["Action"] for a in got]
    assert actions.index("create") < actions.index("start") < actions.index("destroy")
    for a in got:
        assert a["agent"]["id"] == "000"
        assert a["location"] == "Wazuh-Docker"
    m.stop()

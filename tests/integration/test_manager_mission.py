"""The mission, for real: a manager and a separately started agent (enrolled with a password)
on this machine, with the tests' own dockerd. The agent's configuration holds the mission's
<localfile> block (pointed at this dockerd's data root) and the Docker listener; the manager's
local_decoder.xml holds the mission's decoders.

(a) run test-container from httpd, pause, unpause, stop, rm, rmi httpd -> alerts 87901, 87903,
    87905, 87906, 87904, 87902 and the image rules, in order, naming the agent; the whole
    sequence (network events and posture finding included) is the one docs/quickstart.md lists;
(b) nginx on a loopback port (host network) and the mission's SQL injection request -> rule
    31103 with decoder web-accesslog-docker, the data fields, the raw json-file line, the
    container's -json.log location and container.name.
Every field of ../shared/mission/alert-*.json is compared, except the time, host and indexer
fields (and firedtimes, which counts earlier firings and is checked to be positive)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from agentlib import wait_until
from mgrlib import free_ports, manager_factory, shared_dir  # noqa: F401

def ruleset_source():
    """The project's ruleset when it has the mission's rules, else Wazuh's from ../shared."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    own = os.path.join(here, "ruleset")
    def has(d):
        try:
            text = "".join(open(os.path.join(d, "rules", f), errors="replace").read()
                           for f in os.listdir(os.path.join(d, "rules")))
        except OSError:
            return False
        return 'id="87903"' in text and 'id="31103"' in text
    if has(own):
        return own
    wz = os.path.join(shared_dir(), "wazuh-ruleset")
    if has(wz):
        return wz
    pytest.skip(f"no ruleset with the mission's rules (neither {own} nor {wz})")


def mission_file(name):
    p = os.path.join(shared_dir(), "mission", name)
    if not os.path.exists(p):
        pytest.skip(f"{p} is absent")
    return p


def localfile_block(env):
    """The mission's block as pasted, with the location moved to this dockerd's data root."""
    text = open(mission_file("agent-localfile.xml")).read()
    return text.replace("/var/lib/docker", env.data_root)


def check_subset(want, got, path="", skip=()):
    """Every field of `want` is in `got` with the same value (recursively)."""
    for k, v in want.items():
        p = f"{path}.{k}" if path else k
        if p in skip:
            continue
        assert k in got, f"missing field {p}"
        if isinstance(v, dict):
            assert isinstance(got[k], dict), f"{p} is not an object: {got[k]!r}"
            check_subset(v, got[k], p, skip)
        else:
            assert got[k] == v, f"{p}: expected {v!r}, got {got[k]!r}"


def quickstart_listing(heading):
    """(rule id, level, description pattern) of the first alert listing after `heading` in
    docs/quickstart.md; a word the page shortened with `…` stands for any word."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(here, "docs", "quickstart.md")).read()
    blocks, cur = [], None
    for line in text[text.index(heading):].splitlines():
        if line.startswith("```"):
            if cur is None:
                cur = [line[3:].strip()]
            else:
                blocks.append(cur)
                cur = None
        elif cur is not None:
            cur.append(line)
    block = next(b[1:] for b in blocks if b[0] == "")
    out = []
    for line in block:
        rid, level, desc = line.split(None, 2)
        words = [r"\S+" if "…" in w else re.escape(w) for w in desc.split(" ")]
        out.append((rid, level, " ".join(words)))
    return out


TIME_HOST_INDEXER = {"@timestamp", "_id", "timestamp", "id", "manager.name", "agent.ip",
                     "agent.name", "rule.firedtimes"}


def test_mission_end_to_end(docker_env, manager_factory, agent_factory, tmp_path):
    env = docker_env
    env.remove_containers("test-container")
    m = manager_factory(ruleset_src=ruleset_source(), password="mission-pass")
    os.makedirs(os.path.join(m.root, "etc/decoders"), exist_ok=True)
    shutil.copy(mission_file("local_decoder.xml"),
                os.path.join(m.root, "etc/decoders/local_decoder.xml"))
    m.start()
    pw = tmp_path / "authd.pass"
    pw.write_text("mission-pass\n")

    # The agent is enrolled with the password, then started separately.
    aroot = str(tmp_path / "agent" / "root")
    p = m.enroll(aroot, "Ubuntu22", str(pw))
    assert p.returncode == 0, p.stderr.decode()
    conf = m.agent_config(docker={"socket": env.socket}, extra=localfile_block(env))
    ag = agent_factory(conf, name="agent", output=None)
    ag.start()
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected")
               and s.get("docker", {}).get("connected"), 60, what="agent connected to both")

    # ---- (a) interaction with containers and images -----------------------------------------
    image_id = env.docker("image", "inspect", "-f", "{{.Id}}", "httpd").strip()
    for args in (("run", "--pull", "never", "-d", "--name", "test-container", "httpd"),
                 ("pause", "test-container"), ("unpause", "test-container"),
                 ("stop", "test-container"), ("rm", "test-container"), ("rmi", "httpd")):
        env.docker(*args)
    env.ensure_images()  # put httpd back for later runs

    def ours(a):
        # Other tests may use the same dockerd: keep this container's and this image's events.
        d = a.get("data", {}).get("docker", {})
        actor = d.get("Actor", {})
        if d.get("Type") in ("container", "posture"):
            return actor.get("Attributes", {}).get("name") == "test-container"
        return d.get("Type") == "image" and actor.get("ID") == image_id

    def docker_alerts(alerts):
        return [a for a in alerts if a["rule"]["id"].startswith("879") and ours(a)]
    got = m.wait_alerts(lambda al: (d := docker_alerts(al)) and
                        any(a["data"]["docker"]["Action"] == "delete" for a in d) and d, 90,
                        what="the Docker alerts of use case (a)")
    steps = [(a["data"]["docker"]["Action"], a["rule"]["id"]) for a in got]
    want = [("create", "87901"), ("start", "87903"), ("pause", "87905"),
            ("unpause", "87906"), ("stop", "87904"), ("destroy", "87902"),
            ("untag", "87919"), ("delete", "87921")]
    # Posture findings come from the posture event written after the create, never instead of
    # 87901: httpd runs as root (the image sets no user), which the shipped ruleset reports.
    creates = [a for a in got if a["data"]["docker"]["Action"] == "create"]
    assert [a["data"]["docker"]["Type"] for a in creates] == ["container", "posture"], steps
    assert creates[1]["rule"]["id"] == "87981" and creates[1]["rule"]["level"] == 3
    it = iter(steps)
    assert all(w in it for w in want), f"alerts out of order or missing: {steps}"
    # docs/quickstart.md lists what a new user gets, the container's network events included
    cid = creates[0]["data"]["docker"]["Actor"]["ID"]
    seen = [(a["rule"]["id"], str(a["rule"]["level"]), a["rule"]["description"])
            for a in m.alerts() if a["rule"]["id"].startswith("879") and (
                ours(a) or a["data"]["docker"].get("Actor", {}).get("Attributes", {})
                .get("container") == cid)]
    seen = seen[:[r for r, _, _ in seen].index("87921") + 1]  # not the image put back after
    listed = quickstart_listing("## 3. Use case 1")
    assert len(seen) == len(listed) and all(
        (rid, level) == (l_rid, l_level) and re.fullmatch(pattern, desc)
        for (rid, level, desc), (l_rid, l_level, pattern) in zip(seen, listed)), (
        "docs/quickstart.md's use case 1 differs from what is produced:\n" +
        "\n".join(f"{r} {lv} {d}" for r, lv, d in seen))
    for a in got:
        assert a["agent"]["id"] == "001" and a["agent"]["name"] == "Ubuntu22"
        assert a["location"] == "Wazuh-Docker"

    start = next(a for a in got if a["rule"]["id"] == "87903")
    mission = json.load(open(mission_file("alert-docker-start.json")))
    check_subset(mission, start, skip=TIME_HOST_INDEXER | {
        # values that name this run's container, not the mission's
        "data.docker.Actor.ID", "data.docker.id", "data.docker.time", "data.docker.timeNano"})
    assert start["rule"]["firedtimes"] >= 1
    assert start["data"]["docker"]["Actor"]["ID"] == start["data"]["docker"]["id"]
    assert re.fullmatch(r"[0-9a-f]{64}", start["data"]["docker"]["id"])
    assert re.fullmatch(r"\d{10}", start["data"]["docker"]["time"])
    assert re.fullmatch(r"\d{19}\.000000", start["data"]["docker"]["timeNano"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", start["timestamp"])
    assert re.fullmatch(r"\d+\.\d+", start["id"])
    assert start["agent"]["ip"] == "127.0.0.1"
    assert "full_log" not in start  # the rule has no_full_log, as in the mission

    # ---- (b) web attack in a container's log ----------------------------------------------
    port = free_ports(1)[0]
    env.docker("run", "--pull", "never", "--name", "test-container", "-d", "--network", "host", "-e",
               f"NGINX_PORT=127.0.0.1:{port}", "nginx")
    try:
        wait_until(lambda: subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "--noproxy", "*", f"http://127.0.0.1:{port}/"]
        ).returncode == 0, 30, interval=0.2, what="nginx answering")
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--noproxy", "*", "-XGET",
                        f"http://127.0.0.1:{port}/users/?id=SELECT+*+FROM+users"], check=True)
        alert = m.wait_alerts(lambda al: next((a for a in al if a["rule"]["id"] == "31103"),
                                              None), 90, what="rule 31103")
        # The container's log as written, read before the container (and its log) goes.
        container_log = open(alert["location"]).read()
    finally:
        cid = env.docker("inspect", "-f", "{{.Id}}", "test-container", check=False).strip()
        env.docker("rm", "-f", "test-container", check=False)
    mission = json.load(open(mission_file("alert-sqli.json")))
    check_subset(mission, alert, skip=TIME_HOST_INDEXER | {
        "full_log", "location", "data.srcip"})
    assert alert["rule"]["firedtimes"] >= 1
    assert alert["data"]["srcip"] == "127.0.0.1"
    assert alert["decoder"] == {"parent": "json", "name": "web-accesslog-docker"}
    assert alert["location"] == f"{env.data_root}/containers/{cid}/{cid}-json.log"
    # full_log is the raw json-file line, exactly as it is in the container's log.
    raw = [l for l in container_log.splitlines() if '"stream":"stdout"' in l
           and "SELECT+*+FROM+users" in l]
    assert len(raw) == 1 and alert["full_log"] == raw[0]
    line = json.loads(alert["full_log"])
    assert 'GET /users/?id=SELECT+*+FROM+users HTTP/1.1" 404' in line["log"]
    assert line["stream"] == "stdout"
    assert alert["container"]["name"] == "test-container"
    assert alert["container"]["id"] == cid
    assert alert["container"]["image"]["name"] == "nginx"
    assert alert["agent"] == {"id": "001", "name": "Ubuntu22", "ip": "127.0.0.1"}
    ag.stop()
    m.stop()

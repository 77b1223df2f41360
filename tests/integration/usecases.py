"""The mission's two Docker use cases, run against the tests' own dockerd and checked on the
alerts a manager writes. Shared by the tests that run them through an agent installed some other
way than from the build tree (the Debian package, the container image); test_manager_mission.py
checks every field of the alerts, these check that the same alerts come through, in order.

(a) run test-container from httpd, pause, unpause, stop, rm, rmi httpd -> 87901, 87903, 87905,
    87906, 87904, 87902, 87919, 87921 in that order, naming the agent;
(b) nginx on a loopback port (host network) and the mission's SQL injection request -> 31103
    decoded by web-accesslog-docker, with the container's name and its -json.log location.
"""
import json
import os
import subprocess

from agentlib import wait_until
from mgrlib import free_ports, shared_dir

NAME = "test-container"


class AlertFile:
    """alerts.json of a manager, read incrementally (it only grows)."""

    def __init__(self, path):
        self.path, self.off, self.got = path, 0, []

    def alerts(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return self.got
        end = data.rfind(b"\n") + 1
        self.got += [json.loads(line) for line in data[:end].splitlines()]
        self.off += end
        return self.got

    def wait(self, pred, timeout, what):
        return wait_until(lambda: pred(self.alerts()), timeout, interval=0.2, what=what)


def mission_decoders():
    """The mission's local_decoder.xml (web-accesslog-docker), as the user pastes it."""
    return open(os.path.join(shared_dir(), "mission", "local_decoder.xml")).read()


def containers_run(env):
    """Use case (a)'s Docker commands; returns what containers_check needs (the image's id)."""
    env.remove_containers(NAME)
    image_id = env.docker("image", "inspect", "-f", "{{.Id}}", "httpd").strip()
    for args in (("run", "--pull", "never", "-d", "--name", NAME, "httpd"),
                 ("pause", NAME), ("unpause", NAME), ("stop", NAME), ("rm", NAME),
                 ("rmi", "httpd")):
        env.docker(*args)
    env.ensure_images()  # httpd back for later tests
    return image_id


def containers_check(alerts, image_id, agent_name, timeout=90):
    """Use case (a)'s alerts, all of them and in order; returns them."""
    def ours(a):
        d = a.get("data", {}).get("docker", {})
        actor = d.get("Actor", {})
        if d.get("Type") == "container":
            return actor.get("Attributes", {}).get("name") == NAME
        return d.get("Type") == "image" and actor.get("ID") == image_id

    def docker_alerts(al):
        d = [a for a in al if a["rule"]["id"].startswith("879") and ours(a)]
        return d if any(a["data"]["docker"]["Action"] == "delete" for a in d) else None
    got = alerts.wait(docker_alerts, timeout, "the Docker alerts of use case (a)")
    steps = [(a["data"]["docker"]["Action"], a["rule"]["id"]) for a in got]
    want = [("create", "87901"), ("start", "87903"), ("pause", "87905"), ("unpause", "87906"),
            ("stop", "87904"), ("destroy", "87902"), ("untag", "87919"), ("delete", "87921")]
    it = iter(steps)
    assert all(w in it for w in want), f"alerts out of order or missing: {steps}"
    # Each once: events replayed from a spool after a restart are not analysed twice.
    assert len([s for s in steps if s in want]) == len(want), steps
    assert all(a["agent"]["name"] == agent_name and a["location"] == "Wazuh-Docker"
               for a in got), got
    return got


def containers(env, alerts, agent_name, timeout=90):
    """Use case (a), run and checked; returns its Docker alerts."""
    return containers_check(alerts, containers_run(env), agent_name, timeout)


def web_attack(env, alerts, logs_dir, timeout=90):
    """Use case (b); logs_dir is where the agent sees the containers' directories. Returns the
    31103 alert."""
    env.remove_containers(NAME)
    port = free_ports(1)[0]
    env.docker("run", "--pull", "never", "--name", NAME, "-d", "--network", "host", "-e",
               f"NGINX_PORT=127.0.0.1:{port}", "nginx")
    try:
        wait_until(lambda: subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "--noproxy", "*", f"http://127.0.0.1:{port}/"]
        ).returncode == 0, 30, interval=0.2, what="nginx answering")
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--noproxy", "*", "-XGET",
                        f"http://127.0.0.1:{port}/users/?id=SELECT+*+FROM+users"], check=True)
        cid = env.docker("inspect", "-f", "{{.Id}}", NAME).strip()
        alert = alerts.wait(lambda al: next((a for a in al if a["rule"]["id"] == "31103"
                                             and a.get("container", {}).get("id") == cid), None),
                            timeout, "rule 31103 of use case (b)")
    finally:
        env.docker("rm", "-f", NAME, check=False)
    assert alert["decoder"] == {"parent": "json", "name": "web-accesslog-docker"}
    assert alert["data"]["url"] == "/users/?id=SELECT+*+FROM+users"
    assert alert["container"]["name"] == NAME and alert["container"]["image"]["name"] == "nginx"
    assert alert["location"] == f"{logs_dir}/{cid}/{cid}-json.log"
    return alert

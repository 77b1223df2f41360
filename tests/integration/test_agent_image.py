"""The agent as a container image (mk/agent-image.sh, built offline FROM scratch), run the way
docs/install.md documents it -- the Docker socket and the containers' log directory mounted
read-only, its root in a volume, the host's network, no capability but reading -- against the
tests' own dockerd: it enrolls with the manager's password (`enroll` through the image), then
both use cases give their alerts through it, `tld-agent status` inside the container says it is
connected, and `docker stop` ends it cleanly (exit code 0)."""
import json
import os
import subprocess

import usecases
from agentlib import agent_bin, wait_until
from mgrlib import manager_factory  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TAG = "tld-agent:itest"
NAME = "tld-itest-agent-image"


def agent_conf(m):
    return f"""<ossec_config>
  <client><server><address>127.0.0.1</address><port>{m.remote_port}</port></server></client>
  <wodle name="docker-listener"><disabled>no</disabled></wodle>
  <localfile>
    <log_format>syslog</log_format>
    <location>/var/lib/docker/containers/*/*-json.log</location>
  </localfile>
</ossec_config>
"""


def run_args(env, aroot):
    """docs/install.md's `docker run` line, with this dockerd's socket and data root."""
    return ["run", "--pull", "never", "--network", "host",
            "--cap-drop", "ALL", "--cap-add", "DAC_READ_SEARCH",
            "--security-opt", "no-new-privileges", "--read-only", "--tmpfs", "/tmp",
            "-v", f"{env.socket}:/var/run/docker.sock:ro",
            "-v", f"{env.data_root}/containers:/var/lib/docker/containers:ro",
            "-v", f"{aroot}:/var/threatlockdown"]


def test_agent_image_use_cases(docker_env, manager_factory, tmp_path):
    env = docker_env
    env.remove_containers(NAME)
    p = subprocess.run(["bash", os.path.join(REPO, "mk/agent-image.sh"), agent_bin(), TAG],
                       env=env.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    assert p.returncode == 0, p.stdout.decode()
    try:
        # Nothing but the agent and its libraries: no shell to run anything else with.
        entry = env.docker("image", "inspect", "-f", "{{.Config.Entrypoint}}", TAG).strip()
        assert entry == "[/usr/bin/tld-agent]"
        m = manager_factory(password="image-pass")
        os.makedirs(os.path.join(m.root, "etc/decoders"), exist_ok=True)
        with open(os.path.join(m.root, "etc/decoders/local_decoder.xml"), "w") as f:
            f.write(usecases.mission_decoders())
        m.start()
        aroot = tmp_path / "agent-root"
        (aroot / "etc").mkdir(parents=True)
        (aroot / "etc/agent.conf").write_text(agent_conf(m))
        (aroot / "etc/authd.pass").write_text("image-pass\n")
        out = env.docker(*run_args(env, aroot), "--rm", TAG, "enroll", "--manager",
                         f"127.0.0.1:{m.auth_port}", "--name", "DockerAgent", "--password-file",
                         "/var/threatlockdown/etc/authd.pass", "-r", "/var/threatlockdown")
        assert "enrolled as agent 001 'DockerAgent'" in out, out
        env.docker(*run_args(env, aroot), "-d", "--name", NAME, TAG)
        stats = os.path.join(aroot, "var/run/tld-agent.stats.json")

        def connected():
            try:
                s = json.load(open(stats))
            except (OSError, ValueError):
                return None
            return s.get("forwarder", {}).get("connected") and s.get("docker", {}).get("connected")
        wait_until(connected, 60, interval=0.2, what="the containerised agent connected to both")
        st = subprocess.run([env.docker_bin, "exec", NAME, "/usr/bin/tld-agent", "status", "-r",
                             "/var/threatlockdown"], env=env.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)
        text = st.stdout.decode()
        assert st.returncode == 0 and "connected as agent 001" in text, text

        alerts = usecases.AlertFile(m.alerts_path)
        usecases.containers(env, alerts, "DockerAgent")
        usecases.web_attack(env, alerts, "/var/lib/docker/containers")

        env.docker("stop", "-t", "60", NAME)
        code = env.docker("inspect", "-f", "{{.State.ExitCode}}", NAME).strip()
        logs = subprocess.run([env.docker_bin, "logs", NAME], env=env.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
        assert code == "0", logs[-3000:]
        m.stop()
    finally:
        env.docker("rm", "-f", NAME, check=False)
        env.docker("rmi", "-f", TAG, check=False)

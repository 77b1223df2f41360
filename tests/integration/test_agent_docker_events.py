"""tld-agent's Docker listener against a real dockerd (our own, see tld_docker_env.py) and
against fake engines: the mission's steps, restarts of the agent and of dockerd in the middle of
a stream of operations, and bad sockets, API errors and garbage."""
import json
import os
import subprocess
import threading
import time

from agentlib import config_xml, wait_until
from dockerlib import (LOCATION, FakeEngine, VERSION_BODY, assert_same_events, docker_records,
                       posture_records,
                       engine_events, fake_event, in_window, listener_events, now_ns,
                       wait_listener)


def listener_conf(env, **opts):
    d = {"socket": env.socket}
    d.update(opts)
    return config_xml(docker=d)


def wait_docker_events(agent, n, since, until, timeout=60):
    return wait_until(lambda: len([x for x in docker_records(agent) if in_window(x[0], since, until)]) >= n,
                      timeout, what=f"{n} Docker events in the agent's output")


def test_mission_steps_every_event_once_in_order(docker_env, agent_factory):
    env = docker_env
    env.docker("rm", "-f", "test-container", check=False)
    a = agent_factory(listener_conf(env)).start()
    wait_listener(a, "connected")
    t0 = now_ns()
    env.docker("run", "--pull", "never", "-d", "--name", "test-container", "httpd")
    env.docker("pause", "test-container")
    env.docker("unpause", "test-container")
    env.docker("stop", "test-container")
    env.docker("rm", "test-container")
    env.docker("rmi", "httpd")
    t1 = now_ns()
    env.ensure_images()  # put httpd back for the next tests
    engine = engine_events(env, t0, t1)
    actions = [json.loads(l)["Action"] for l in engine]
    for want in ("create", "start", "pause", "unpause", "kill", "die", "stop", "destroy",
                 "untag", "delete"):
        assert want in actions, f"the engine itself did not report {want}: {actions}"
    wait_docker_events(a, len(engine), t0, t1)
    time.sleep(0.5)
    a.stop()
    got = [x for x in docker_records(a) if in_window(x[0], t0, t1)]
    # Byte for byte what the engine's API sent, in order, each once.
    assert [x[0] for x in got] == engine
    # create and start carry the inspect object for the posture rules
    for raw, obj, rec in got:
        d = obj["docker"]
        assert obj["integration"] == "docker" and rec["location"] == LOCATION
        if d["Type"] == "container" and d["Action"] in ("create", "start"):
            ins = d["inspect"]
            assert ins["privileged"] is False and ins["image"] == "httpd"
            assert ins["network_mode"] == "default" and ins["mounts"] == []
            assert set(ins) >= {"privileged", "user", "pid_mode", "ipc_mode", "network_mode",
                                "mounts", "cap_add", "security_opt", "image"}
        else:
            assert "inspect" not in d
    # one posture event follows the create, with its Actor and inspect object
    create = next(o["docker"] for _, o, _ in got if o["docker"]["Action"] == "create")
    posture = [p for p in posture_records(a) if p["Actor"]["ID"] == create["Actor"]["ID"]]
    assert len(posture) == 1 and posture[0]["Action"] == "create"
    assert posture[0]["Actor"] == create["Actor"] and posture[0]["inspect"] == create["inspect"]
    assert str(posture[0]["timeNano"]) == str(create["timeNano"])
    # the listener announced itself
    assert listener_events(a, action="started") and listener_events(a, action="connected")


def test_inspect_reports_risky_settings(docker_env, agent_factory, tmp_path):
    env = docker_env
    env.docker("rm", "-f", "tld-risky", check=False)
    a = agent_factory(listener_conf(env)).start()
    wait_listener(a, "connected")
    t0 = now_ns()
    # --privileged fails on this kind of VM (no CAP_SYS_RESOURCE): every other cap instead
    env.docker("run", "--pull", "never", "-d", "--name", "tld-risky", "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
               "--pid", "host", "--network", "host", "-u", "1000", "-v", f"{tmp_path}:/host:ro",
               "--security-opt", "no-new-privileges", "tld-busybox", "sleep", "30")
    env.docker("rm", "-f", "tld-risky")
    t1 = now_ns()
    wait_docker_events(a, len(engine_events(env, t0, t1)), t0, t1)
    a.stop()
    mine = {o["docker"]["Action"]: o["docker"] for _, o, _ in docker_records(a)
            if o["docker"].get("Actor", {}).get("Attributes", {}).get("name") == "tld-risky"}
    ins = mine["start"]["inspect"]
    # create is enriched too, from the engine or (while the engine holds the container for
    # its start) from the configuration the engine wrote: the same fields either way
    create = dict(mine["create"]["inspect"])
    assert create.pop("source") in ("engine", "disk") and ins.pop("source") == "engine"
    assert create == ins
    # as the engine reports them (it normalises dropped caps to CAP_*)
    assert ins["cap_add"] == ["ALL"]
    assert [c.removeprefix("CAP_") for c in ins["cap_drop"]] == ["SYS_RESOURCE"]
    assert ins["pid_mode"] == "host" and ins["network_mode"] == "host" and ins["user"] == "1000"
    assert "no-new-privileges" in ins["security_opt"]  # the engine adds label=disable with --pid host
    assert ins["mounts"] == [{"type": "bind", "source": str(tmp_path), "destination": "/host",
                              "read_only": True}]
    # the posture event carries what the posture rules judge
    posture = [p for p in posture_records(a)
               if p["Actor"].get("Attributes", {}).get("name") == "tld-risky"]
    assert len(posture) == 1 and posture[0]["inspect"] == mine["create"]["inspect"]


class Ops(threading.Thread):
    """A stream of container operations: run a container, remove it, again and again."""

    def __init__(self, env, prefix, count, pause=0.05):
        super().__init__(daemon=True)
        self.env, self.prefix, self.count, self.pause = env, prefix, count, pause
        self.done_ops = 0
        self.failed_ops = 0

    def run(self):
        for i in range(self.count):
            name = f"{self.prefix}{i}"
            try:
                self.env.docker("run", "--pull", "never", "-d", "--stop-timeout", "1", "--name", name, "tld-busybox",
                                "sleep", "60", timeout=30)
                self.env.docker("rm", "-f", name, timeout=30)
                self.done_ops += 1
            except Exception:
                self.failed_ops += 1  # the engine is down for a moment: expected
                time.sleep(0.2)
            time.sleep(self.pause)


def test_agent_kill9_mid_stream_nothing_lost_nothing_twice(docker_env, agent_factory):
    env = docker_env
    env.remove_containers("tldk")
    a = agent_factory(listener_conf(env)).start()
    wait_listener(a, "connected")
    t0 = now_ns()
    ops = Ops(env, "tldk", 24)
    ops.start()
    for _ in range(2):
        time.sleep(1.2)
        a.kill9()
        time.sleep(1.0)  # events keep happening while the agent is down
        a.start()
    ops.join(120)
    t1 = now_ns()
    engine = engine_events(env, t0, t1)
    assert ops.failed_ops == 0 and len(engine) >= 24 * 5
    assert len(engine) < 256, "the window must fit in the engine's replay buffer"
    wait_docker_events(a, len(engine), t0, t1)
    time.sleep(0.5)
    a.stop()
    got = [x[0] for x in docker_records(a) if in_window(x[0], t0, t1)]
    assert_same_events(got, engine)
    # the replay always reached back to the last spooled event: no gap was reported
    assert not [g for g in listener_events(a, action="gap") if g["possible_loss"]]


def test_dockerd_restart_mid_stream(docker_env, agent_factory):
    """dockerd is stopped and started again while containers come and go. The agent's record
    must equal the engine's: the events a live subscriber got before the stop, plus the
    engine's --since/--until record after it came back. The engine keeps no events across its
    own restart, so the agent must also say that a gap may have lost events, and how long."""
    env = docker_env
    env.remove_containers("tldr")
    env.docker("run", "--pull", "never", "-d", "--stop-timeout", "1", "--name", "tldr-survivor", "tld-busybox",
               "sleep", "600")
    a = agent_factory(listener_conf(env)).start()
    wait_listener(a, "connected")
    t0 = now_ns()
    live = subprocess.Popen([env.docker_bin, "events", "--since",
                             f"{t0 // 10**9}.{t0 % 10**9:09d}", "--format", "{{json .}}"],
                            env=env.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ops = Ops(env, "tldr", 30, pause=0.1)
    ops.start()
    time.sleep(2)
    env.stop()  # stops tldr-survivor too (no live-restore): containers "removed by the restart"
    before = live.communicate(timeout=30)[0].decode().splitlines()
    time.sleep(1)
    env.start()
    t_up = now_ns()
    env.docker("run", "--pull", "never", "-d", "--name", "tldr-after", "tld-busybox", "sleep", "1")  # right after
    ops.join(180)
    env.remove_containers("tldr")
    t1 = now_ns()
    after = engine_events(env, t_up - 2 * 10**9, t1)
    engine = [l for l in before if in_window(l, t0, t1)] + [l for l in after if l not in before]
    assert ops.failed_ops >= 1, "the restart did not hit the stream of operations"
    assert any('"tldr-survivor"' in l and '"Action":"die"' in l for l in before)
    wait_docker_events(a, len(engine), t0, t1, timeout=90)
    wait_listener(a, "gap")
    time.sleep(0.5)
    a.stop()
    got = [x[0] for x in docker_records(a) if in_window(x[0], t0, t1)]
    assert_same_events(got, engine)
    assert listener_events(a, action="disconnected") and listener_events(a, action="reconnected")
    gap = listener_events(a, action="gap")[0]
    assert gap["possible_loss"] is True and gap["gap_seconds"] >= 1.0


def test_agent_down_across_dockerd_restart_reconciles(docker_env, agent_factory):
    """The agent is stopped, the engine restarts (its running containers die, with nobody
    subscribed, and the engine forgets those events), then the agent comes back: it cannot
    replay what the engine forgot, so it lists the containers and reports the difference."""
    env = docker_env
    env.remove_containers("tldq")
    a = agent_factory(listener_conf(env)).start()
    wait_listener(a, "connected")
    env.docker("run", "--pull", "never", "-d", "--stop-timeout", "1", "--name", "tldq-survivor", "tld-busybox",
               "sleep", "600")
    wait_until(lambda: any(o["docker"].get("Action") == "start" for _, o, _ in docker_records(a)),
               20, what="the survivor's start")
    time.sleep(1.2)  # let a checkpoint pass
    a.kill9()
    env.restart()
    t_up = now_ns()
    env.docker("run", "--pull", "never", "-d", "--name", "tldq-new", "tld-busybox", "true")  # while the agent is down
    time.sleep(0.5)
    a.start()
    gap = wait_listener(a, "gap")[0]
    env.remove_containers("tldq")
    a.stop()
    assert gap["possible_loss"] is True
    changes = {c["name"]: c for c in gap["changes"]}
    assert changes["tldq-survivor"]["before"] == "running"
    assert changes["tldq-survivor"]["now"] == "exited"
    # what happened after the engine came back is in its buffer: replayed, not a difference
    assert "tldq-new" not in changes
    new_events = [o["docker"]["Action"] for _, o, _ in docker_records(a)
                  if o["docker"].get("Actor", {}).get("Attributes", {}).get("name") == "tldq-new"]
    assert new_events[:2] == ["create", "start"]
    assert t_up > 0


def test_socket_that_is_not_docker(tmp_path, agent_factory):
    sock = str(tmp_path / "not-docker.sock")

    def handler(path):
        return ("200 OK", {"Content-Type": "text/html"}, [b"<html>hello</html>"])

    fake = FakeEngine(sock, handler)
    fake.start()
    try:
        a = agent_factory(config_xml(docker={"socket": sock, "attempts": 2, "interval": 1})).start()
        wait_listener(a, "gave_up", n=2, timeout=30)
        assert a.alive()
        a.stop()
    finally:
        fake.stop()
    err = listener_events(a, action="error")[0]["error"]
    assert "does not answer like a Docker Engine" in err and sock in err
    g = listener_events(a, action="gave_up")[0]
    assert g["attempts"] == 2 and g["retry_in_seconds"] == 1
    assert "does not answer like a Docker Engine" in open(a.logfile).read()


def test_no_socket_at_all(tmp_path, agent_factory):
    sock = str(tmp_path / "absent.sock")
    a = agent_factory(config_xml(docker={"socket": sock, "attempts": 1, "interval": 1})).start()
    wait_listener(a, "gave_up")
    a.stop()
    assert sock in listener_events(a, action="error")[0]["error"]


def test_docker_api_error_is_reported(docker_env, agent_factory):
    a = agent_factory(listener_conf(docker_env, api_version="1.99", attempts=2,
                                    interval=1)).start()
    wait_listener(a, "gave_up")
    a.stop()
    err = listener_events(a, action="error")[0]["error"]
    assert "HTTP 400" in err and "1.99" in err, err


def test_garbage_on_the_events_stream(tmp_path, agent_factory):
    sock = str(tmp_path / "fake.sock")
    t = now_ns()
    served = []

    def handler(path):
        if path == "/version":
            return ("200 OK", {"Content-Type": "application/json"}, [VERSION_BODY])
        if path.startswith("/v1.41/events") and not served:
            served.append(path)
            body = [fake_event(1, t) + b"\n", b"this is not json\n", b'{"truncated":\n',
                    b"\x00\xff\xfe garbage\n", b"[1,2,3]\n", fake_event(2, t + 1) + b"\n",
                    b"x" * (2 << 20) + b"\n", fake_event(3, t + 2) + b"\n"]
            return ("200 OK", {"Content-Type": "application/json"}, body)
        if path.startswith("/v1.41/events"):
            return ("200 OK", {"Content-Type": "application/json"}, slow_body(30))
        if path.startswith("/v1.41/containers/json"):
            return ("200 OK", {"Content-Type": "application/json"}, [b"[]"])
        return ("404 Not Found", {"Content-Type": "application/json"}, [b'{"message":"no"}'])

    fake = FakeEngine(sock, handler)
    fake.start()
    try:
        a = agent_factory(config_xml(docker={"socket": sock})).start()
        wait_until(lambda: len(docker_records(a)) >= 3, 30, what="3 events")
        wait_listener(a, "garbage")
        st = wait_until(lambda: (s := a.stats()) and s["docker"]["garbage"] >= 4 and s, 10)
        assert a.alive()
        a.stop()
    finally:
        fake.stop()
    names = [o["docker"]["Actor"]["Attributes"]["name"] for _, o, _ in docker_records(a)]
    assert names[:3] == ["fake1", "fake2", "fake3"]
    assert st["docker"]["garbage"] == 5  # 4 bad lines and one over-long line
    assert "not an event" in open(a.logfile).read()


def slow_body(seconds):
    """A stream that stays open without sending anything."""
    time.sleep(seconds)
    yield b""


def test_full_spool_overflows_the_queue_without_losing_events(docker_env, agent_factory, tmp_path):
    """The spool is full (no consumer), so the listener's writer waits and its 16-event queue
    fills: the reader drops its connection instead of blocking the engine, says so, and
    resumes with since= once there is room. Nothing is lost: after a restart with a consumer,
    the agent's record equals the engine's."""
    env = docker_env
    env.remove_containers("tldo")
    logs = tmp_path / "logs"
    logs.mkdir()
    filler = logs / "fill.log"
    filler.write_text("")
    conf = config_xml([("syslog", str(filler))], docker={"socket": env.socket, "queue_size": 16},
                      extra="<spool><max_size>1MB</max_size></spool>")
    a = agent_factory(conf, output=None).start()
    wait_until(lambda: (a.stats() or {}).get("docker", {}).get("connects", 0) >= 1, 20)
    with open(filler, "a") as f:
        f.write("".join(f"filler line {i:06d} {'x' * 200}\n" for i in range(8000)))
    wait_until(lambda: a.stats()["spool"]["full"], 20, what="a full spool")
    t0 = now_ns()
    for i in range(6):
        env.docker("run", "--pull", "never", "-d", "--name", f"tldo{i}", "tld-busybox", "true")
    env.remove_containers("tldo")
    t1 = now_ns()
    st = wait_until(lambda: (s := a.stats()) and s["docker"]["overflows"] >= 1 and s, 20,
                    what="the queue to overflow")
    assert st["docker"]["queue_max"] <= 16 + 16  # events plus the marker slots
    a.stop()
    b = agent_factory(conf, name="agent")
    b.out = os.path.join(b.dir, "out.jsonl")
    b.start()
    engine = engine_events(env, t0, t1)
    wait_docker_events(b, len(engine), t0, t1, timeout=60)
    # the file lines queued behind the events must all come out too, not just the events
    wait_until(lambda: b.count(str(filler)) >= 8000, 60, what="every filler line")
    b.stop()
    got = [x[0] for x in docker_records(b) if in_window(x[0], t0, t1)]
    assert_same_events(got, engine)
    assert listener_events(b, action="overflow")[0]["queue_size"] == 16
    assert b.count(str(filler)) == 8000

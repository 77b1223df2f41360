"""tld-agent reading the json-file logs of real containers: first lines, rotation by Docker
under load, split long lines, container metadata (also after removal), the mission's raw line."""
import json
import os
import signal
import socket
import time

from agentlib import config_xml, wait_until


def logs_conf(env, fmt="docker", extra=""):
    # The listener is off; its socket setting still tells the metadata cache where the engine is.
    return config_xml([(fmt, f"{env.data_root}/containers/*/*-json.log")],
                      docker={"disabled": "yes", "socket": env.socket}, extra=extra)


def container_records(agent, cid):
    return [r for r in agent.records() if f"/containers/{cid}/" in r["location"]]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def vm_hwm_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def test_container_started_after_agent_first_line_collected(docker_env, agent_factory):
    env = docker_env
    env.remove_containers("tldf")
    a = agent_factory(logs_conf(env)).start()
    # writes from its first instant, then exits at once
    cid = env.docker("run", "--pull", "never", "-d", "--name", "tldf-first", "tld-busybox", "sh", "-c",
                     "echo first-line; echo second-line; echo err-line >&2").strip()
    wait_until(lambda: len(container_records(a, cid)) >= 3, 20, what="the container's lines")
    env.docker("rm", "-f", "tldf-first")
    a.stop()
    recs = container_records(a, cid)
    out = [r for r in recs if r["docker"]["stream"] == "stdout"]
    assert [r["text"] for r in out] == ["first-line", "second-line"]
    err = [r for r in recs if r["docker"]["stream"] == "stderr"]
    assert [r["text"] for r in err] == ["err-line"]
    for r in recs:
        assert r["container"]["id"] == cid
        assert r["container"]["name"] == "tldf-first"
        assert r["container"]["image"]["name"] == "tld-busybox"
        assert r["docker"]["time"].endswith("Z")


def test_docker_rotation_200k_lines_exactly_once(docker_env, agent_factory):
    """200,000 numbered lines as fast as the container can write them, max-size=1m and
    max-file=3: Docker rotates about 16 times while the agent reads."""
    env = docker_env
    env.remove_containers("tldrot")
    a = agent_factory(logs_conf(env)).start()
    t0 = time.monotonic()
    cid = env.docker("run", "--pull", "never", "-d", "--name", "tldrot", "--log-opt", "max-size=1m", "--log-opt",
                     "max-file=3", "tld-busybox", "seq", "1", "200000").strip()
    env.docker("wait", cid, timeout=120)
    t_written = time.monotonic() - t0
    wait_until(lambda: len(container_records(a, cid)) >= 200000, 90,
               what=f"200000 lines (have {len(container_records(a, cid))}; "
                    f"stats {(a.stats() or {}).get('collector')})")
    time.sleep(0.5)
    st = a.stats()["collector"]
    a.stop()
    texts = [r["text"] for r in container_records(a, cid)]
    nums = [int(t) for t in texts]
    missing = sorted(set(range(1, 200001)) - set(nums))
    assert not missing and len(nums) == 200000 and nums == sorted(nums), (
        f"{len(missing)} missing (first {missing[:5]}), {len(nums) - len(set(nums))} twice; "
        f"written in {t_written:.1f}s; collector {st}")
    # Docker rotated at every 1 MB: each of those files was opened and read (none was deleted
    # before the agent held it open)
    assert st["files_opened"] >= st["bytes"] // 1000000 >= 14, st
    env.docker("rm", "-f", cid)


def test_split_long_lines_reassembled_and_bounded(docker_env, agent_factory):
    env = docker_env
    env.remove_containers("tldlong")
    a = agent_factory(logs_conf(env)).start()
    base = vm_hwm_kb(a.proc.pid)
    cid = env.docker("run", "--pull", "never", "-d", "--name", "tldlong", "tld-busybox", "sh", "-c",
                     "head -c 102400 /dev/zero | tr '\\0' a; echo; echo after-100k; "
                     "head -c 10485760 /dev/zero | tr '\\0' b; echo; echo after-10m").strip()
    env.docker("wait", cid, timeout=120)
    wait_until(lambda: [r["text"] for r in container_records(a, cid)][-1:] == ["after-10m"], 60,
               what="the last line")
    hwm = vm_hwm_kb(a.proc.pid)
    a.stop()
    recs = container_records(a, cid)
    assert [r["text"][:10] for r in recs] == ["a" * 10, "after-100k", "b" * 10, "after-10m"]
    big = recs[0]
    # 100 KiB in Docker's 16 KiB pieces: one event, complete, not truncated
    assert big["text"] == "a" * 102400 and big["partials"] == 7 and "truncated" not in big
    huge = recs[2]
    assert huge["truncated"] is True and len(huge["text"]) == 256 * 1024
    assert huge["partials"] == 10485760 // 16384 + 1
    # memory stays bounded: far less than the 10 MiB line (ASan build, generous margin)
    assert hwm - base < 48 * 1024, f"peak RSS grew by {(hwm - base) // 1024} MiB"
    env.docker("rm", "-f", cid)


def test_metadata_kept_for_lines_read_after_removal(docker_env, agent_factory):
    env = docker_env
    env.remove_containers("tldmeta")
    a = agent_factory(logs_conf(env)).start()
    cid = env.docker("run", "--pull", "never", "-d", "--name", "tldmeta", "--label", "com.docker.compose.project=shop",
                     "--label", "com.docker.compose.service=web", "--label", "tier=front",
                     "tld-busybox", "sh", "-c", "echo started; sleep 2; seq 1 1000").strip()
    wait_until(lambda: len(container_records(a, cid)) >= 1, 20, what="the first line")
    # The agent is frozen while the container writes, exits and is removed; it reads the
    # lines from the file it holds open after the container is gone.
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        env.docker("wait", cid, timeout=60)
        env.docker("rm", cid)
        assert not os.path.exists(os.path.join(env.data_root, "containers", cid))
        t_removed = time.time_ns()
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    wait_until(lambda: len(container_records(a, cid)) >= 1001, 30, what="1001 lines")
    a.stop()
    recs = container_records(a, cid)
    late = [r for r in recs[1:]]
    assert len(late) == 1000
    for r in recs:
        c = r["container"]
        assert c["name"] == "tldmeta" and c["image"]["name"] == "tld-busybox"
        assert c["compose"] == {"project": "shop", "service": "web"}
        assert c["labels"]["tier"] == "front"
        assert c["labels"]["com.docker.compose.project"] == "shop"
    # those lines were really read after the container was removed
    def ts(r):
        s = r["read_time"]
        return int(time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone) * 10**9 \
            + int(s[20:29])
    assert all(ts(r) > t_removed for r in late)


def test_mission_nginx_raw_line_with_syslog_format(docker_env, agent_factory):
    """The mission's configuration (syslog on the json-file logs): the access line reaches the
    output byte for byte as Docker wrote it, with the container's name and image."""
    env = docker_env
    env.docker("rm", "-f", "test-container", check=False)
    a = agent_factory(logs_conf(env, fmt="syslog")).start()
    port = free_port()
    cid = env.docker("run", "--pull", "never", "--name", "test-container", "-d", "--network", "host", "-e",
                     f"NGINX_PORT=127.0.0.1:{port}", "nginx").strip()
    try:
        import urllib.request
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def get(path):
            try:
                return opener.open(f"http://127.0.0.1:{port}{path}", timeout=2).status
            except urllib.error.HTTPError as e:
                return e.code
            except OSError:
                return 0

        wait_until(lambda: get("/") == 200, 20, what="nginx")
        assert get("/users/?id=SELECT+*+FROM+users") == 404
        log_path = env.docker("inspect", "-f", "{{.LogPath}}", cid).strip()
        wait_until(lambda: any("SELECT+*+FROM+users HTTP/1.1" in r["text"] and '"stdout"' in r["text"]
                               for r in container_records(a, cid)), 20, what="the access line")
        a.stop()
        file_lines = open(log_path).read().splitlines()
        got = [r for r in container_records(a, cid) if r["location"] == log_path]
        assert [r["text"] for r in got] == file_lines
        sqli = [r for r in got if "SELECT+*+FROM+users" in r["text"] and '"stdout"' in r["text"]][0]
        line = json.loads(sqli["text"])
        assert line["stream"] == "stdout" and line["log"].startswith("127.0.0.1 - - [")
        assert '"GET /users/?id=SELECT+*+FROM+users HTTP/1.1" 404 153' in line["log"]
        assert sqli["container"]["name"] == "test-container"
        assert sqli["container"]["image"]["name"] == "nginx"
        assert "docker" not in sqli  # syslog format: nothing unwrapped
    finally:
        env.docker("rm", "-f", "test-container", check=False)

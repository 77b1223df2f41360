#!/usr/bin/env python3
"""Agent benchmarks that need a Docker engine (the tests' private one, tld_docker_env.py):

  idle     50 running containers, the mission's <localfile> on their logs and the Docker
           listener on; after a settling time, the agent's CPU use (utime+stime over a window,
           % of one core) and its resident memory.
  latency  Docker events (containers run and removed, one operation every 100 ms): for each
           event, the time from the engine's timeNano to the agent reading it, and to the record
           being visible in the --output file (which it reaches through the spool); p50/p99/max.

Uses the release build (TLD_BUILD, default build). Prints "name value" lines for bench/agent.sh.
  bench/agent_docker.py idle|latency [--containers N] [--window S] [--ops N]
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("TLD_BUILD", "build")

from agentlib import Agent, config_xml, wait_until  # noqa: E402
from tld_docker_env import DockerEnv, DockerUnavailable  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle(env, work, n, window):
    env.remove_containers("tldbench-")
    for i in range(n):
        env.docker("run", "--pull", "never", "-d", "--name", f"tldbench-{i}", "tld-busybox", "sleep", "3600")
    conf = config_xml([("syslog", f"{env.data_root}/containers/*/*-json.log")],
                      docker={"socket": env.socket})
    a = Agent(work, conf, name="idle").start()
    try:
        wait_until(lambda: (s := a.stats()) and s.get("collector", {}).get("streams", 0) >= n, 30,
                   what=f"{n} followed container logs")
        time.sleep(5)  # settle: first checkpoints, metadata lookups
        t0, c0 = time.monotonic(), cpu_ticks(a.proc.pid)
        time.sleep(window)
        t1, c1 = time.monotonic(), cpu_ticks(a.proc.pid)
        cpu = (c1 - c0) / CLK / (t1 - t0) * 100
        rss = rss_kb(a.proc.pid)
        streams = a.stats()["collector"]["streams"]
    finally:
        a.stop()
        env.remove_containers("tldbench-")
    print(f"idle_containers {streams}")
    print(f"idle_cpu_percent {cpu:.2f}")
    print(f"idle_rss_mb {rss / 1024:.1f}")


class Tail(threading.Thread):
    """Stamps each record of the --output file with the time it became visible there."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.arrivals, self.stop = path, {}, threading.Event()

    def run(self):
        off, buf = 0, b""
        while not self.stop.is_set():
            try:
                with open(self.path, "rb") as f:
                    f.seek(off)
                    data = f.read()
            except OSError:
                data = b""
            now = time.time_ns()
            if data:
                off += len(data)
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    self.arrivals[json.loads(line)["seq"]] = now
            else:
                time.sleep(0.0002)


def latency(env, work, ops):
    env.remove_containers("tldlat-")
    conf = config_xml(docker={"socket": env.socket})
    a = Agent(work, conf, name="latency").start()
    tail = Tail(a.out)
    tail.start()
    try:
        wait_until(lambda: any('"Action":"connected"' in r["text"] for r in a.records()), 30)
        t_start = time.time_ns()
        for i in range(ops):
            if i % 2 == 0:
                env.docker("run", "--pull", "never", "-d", "--name", f"tldlat-{i}", "tld-busybox", "sleep", "60")
            else:
                env.docker("rm", "-f", f"tldlat-{i - 1}")
            time.sleep(0.1)
        time.sleep(2)
        tail.stop.set()
        tail.join(5)
        read_lat, out_lat = [], []
        for r in a.records():
            # The agent's own status events and the posture events it derives from a create
            # are not Docker events; only what the engine sent has a latency to measure.
            d = json.loads(r["text"]).get("docker")
            if (not isinstance(d, dict) or d.get("Type") in ("listener", "posture")
                    or d.get("timeNano", 0) < t_start):
                continue
            rt = r["read_time"]
            read_ns = int(time.mktime(time.strptime(rt[:19], "%Y-%m-%dT%H:%M:%S"))
                          - time.timezone) * 10**9 + int(rt[20:29])
            read_lat.append((read_ns - d["timeNano"]) / 1e6)
            out_lat.append((tail.arrivals[r["seq"]] - d["timeNano"]) / 1e6)
    finally:
        tail.stop.set()
        a.stop()
        env.remove_containers("tldlat-")

    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

    print(f"latency_events {len(out_lat)}")
    for name, v in (("read", read_lat), ("output", out_lat)):
        print(f"latency_{name}_p50_ms {pct(v, 50):.2f}")
        print(f"latency_{name}_p99_ms {pct(v, 99):.2f}")
        print(f"latency_{name}_max_ms {max(v):.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["idle", "latency"])
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--ops", type=int, default=100)
    a = ap.parse_args()
    env = DockerEnv()
    try:
        env.start()
        env.ensure_images()
    except DockerUnavailable as e:
        print(f"skip {e}")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="tld-bench-") as work:
            if a.what == "idle":
                idle(env, work, a.containers, a.window)
            else:
                latency(env, work, a.ops)
    finally:
        if env.started_here:
            env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

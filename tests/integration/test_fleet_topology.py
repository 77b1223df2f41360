"""The whole scale-out topology on loopback (docs/scaling.md): two managers of one fleet (shared
CA, ticket key and agent registry) writing to one ClickHouse cluster (chcluster.py: ZooKeeper and
two shards of two clickhouse-server replicas), each under its own writer name, and agents from
the simulator (bench/agent_sim.c with --port2: every agent fails over to the other manager when
its connection fails). During the run the first manager is killed with SIGKILL (its agents move
to the second, resending what it had not acknowledged) and restarted, and a replica of the first
shard is killed with SIGKILL and started again. Afterwards every event the simulator generated
was acknowledged, and the cluster holds exactly one alert per event: as many rows as events, each
with a distinct event identity, none without; both replicas of each shard agree. The events both
managers analysed (journaled by the first, resent to the second) are counted from the two
alerts.json files and printed; the store keeps one alert of each. What was in flight at the
kill varies from run to run (often nothing), so the simulator makes the window certain: with
--lost-acks each agent counts its last 5 acknowledgements from the killed manager as never
received and sends those events to the second manager too.

Sizes come from TLD_TOPO_AGENTS, TLD_TOPO_RATE (events/s per agent) and TLD_TOPO_SECONDS, so
bench/topology.sh runs the same scenario on the release build for `make bench`; the test prints
one JSON line starting with {"topology": with its figures. Needs no dockerd."""
import json
import os
import shutil
import subprocess
import threading
import time

import agentlib
from agentlib import wait_until
from chcluster import ch_cluster  # noqa: F401
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from test_manager_store import alert_lines, caught_up

AGENTS = int(os.environ.get("TLD_TOPO_AGENTS", 40))
RATE = float(os.environ.get("TLD_TOPO_RATE", 25))
SECONDS = int(os.environ.get("TLD_TOPO_SECONDS", 30))
LOST_ACKS = 5  # per agent at the failover: events certain to reach both managers
TABLE = "tld_alerts"
DIST = f"default.{TABLE}"
LOCAL = f"default.{TABLE}_local"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = """<group name="topology,">
  <rule id="100400" level="3">
    <match>sim-event</match>
    <description>simulated agent event</description>
  </rule>
</group>
"""


def build_sim(out):
    """The simulator against the libraries of the build under test (sanitizer flags work for
    both the ASan and the release libraries)."""
    lib = os.path.join(agentlib.build_dir(), "lib")
    libs = subprocess.run(["pkg-config", "--libs", "openssl", "libcjson"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.split()
    subprocess.run(["cc", "-std=c17", "-O1", "-g", "-fsanitize=address,undefined",
                    "-D_GNU_SOURCE", "-pthread", "-I" + os.path.join(ROOT, "src"),
                    os.path.join(ROOT, "bench", "agent_sim.c"),
                    os.path.join(lib, "libtld_agent.a"), os.path.join(lib, "libtld_common.a")]
                   + libs + ["-lm", "-o", out], check=True)


class Sim(threading.Thread):
    """The simulator's run: its JSON lines as they come."""

    def __init__(self, args, log):
        super().__init__(daemon=True)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.lines = []
        self.start()

    def run(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.append(json.loads(line))


def store_config(cluster, writer):
    urls = "".join(f"<url>{u}</url>" for u in cluster.urls)
    return (f"<store><backend>clickhouse</backend>{urls}<cluster>{cluster.name}</cluster>"
            f"<table>{TABLE}</table><writer>{writer}</writer></store>")


def settled(managers, last):
    """Both stores hold every line of their alerts.json, and the counts did not move since the
    previous look (a restarted manager may still be analysing its journal)."""
    counts = [len(alert_lines(m)) for m in managers]
    ok = all(caught_up(m, n) for m, n in zip(managers, counts)) and counts == last[:]
    last[:] = counts
    return ok and counts


def identities(m):
    """The event identity of every alert line of a manager (agent id, stream, seq)."""
    out = []
    for line in alert_lines(m):
        a = json.loads(line)
        ev = a.get("event") or {}
        out.append((a["agent"]["id"], ev.get("stream"), ev.get("seq")))
    return out


def test_two_managers_clickhouse_cluster_failover_each_alert_once(manager_factory, ch_cluster,
                                                                   tmp_path):
    t0 = time.monotonic()
    sim_bin = str(tmp_path / "agent_sim")
    build_sim(sim_bin)
    registry = str(tmp_path / "registry")
    os.makedirs(registry)
    rs = minimal_ruleset(str(tmp_path / "rs"), RULES)
    reg = f"<registry_dir>{registry}</registry_dir>"
    # Every agent enrolls from one address, all before any connects.
    auth = ("<rate_limit_requests>100000</rate_limit_requests>"
            "<max_pending_agents>100000</max_pending_agents>")
    a = manager_factory(name="mgr-a", ruleset_src=rs, logall_json=False, manager_extra=reg,
                        auth_extra=auth, extra=store_config(ch_cluster, "mgr_a"))
    b = manager_factory(name="mgr-b", ruleset_src=rs, logall_json=False, manager_extra=reg,
                        auth_extra=auth, extra=store_config(ch_cluster, "mgr_b"))
    a.start()
    shutil.copytree(os.path.join(a.root, "var/ca"), os.path.join(b.root, "var/ca"))
    b.start()

    os.makedirs(tmp_path / "ids")
    with open(tmp_path / "sim.log", "w") as log:
        sim = Sim([sim_bin, "--port", str(a.remote_port), "--port2", str(b.remote_port),
                   "--enroll-port", str(a.auth_port), "--ids", str(tmp_path / "ids"),
                   "--agents", str(AGENTS), "--rate", str(RATE), "--seconds", str(SECONDS),
                   "--threads", "1", "--lost-acks", str(LOST_ACKS)], log)
    wait_until(lambda: sim.lines or sim.proc.poll() is not None, 300, interval=0.2,
               what="the simulated agents connected")
    assert sim.lines and sim.lines[0]["agents"] == AGENTS, open(tmp_path / "sim.log").read()
    traffic = time.monotonic()

    def at(fraction):
        time.sleep(max(0.0, traffic + SECONDS * fraction - time.monotonic()))

    at(0.3)
    a.kill9()
    at(0.45)
    replica = ch_cluster.node(1, 1)  # the one inserts and reads of shard 1 go to first
    replica.kill()
    at(0.6)
    a.start()
    at(0.8)
    ch_cluster.restart(replica)
    sim.join(timeout=SECONDS + 400)
    assert sim.proc.wait(timeout=30) == 0, open(tmp_path / "sim.log").read()[-2000:]
    res = sim.lines[-1]
    assert res["generated"] > 0 and res["lost"] == 0 and res["acknowledged"] == res["generated"]

    last = []
    wait_until(lambda: settled([a, b], last), 300, interval=1,
               what="both managers' stores caught up with their alerts.json")
    ids_a, ids_b = identities(a), identities(b)
    assert all(k[1] and k[2] for k in ids_a + ids_b), "a simulated event's alert without identity"
    assert len(set(ids_a)) == len(ids_a) and len(set(ids_b)) == len(ids_b)
    analysed_twice = len(set(ids_a) & set(ids_b))
    assert len(set(ids_a) | set(ids_b)) == res["generated"]
    # Each agent's last acknowledgements from A counted as lost: B analysed those events again.
    assert analysed_twice >= LOST_ACKS * AGENTS // 2, analysed_twice

    for n in ch_cluster.nodes:
        n.query(f"SYSTEM SYNC REPLICA {LOCAL}", timeout=180)
    per_shard = []
    for s in (1, 2):
        c = [int(n.query(f"SELECT count() FROM {LOCAL}")) for n in ch_cluster.shard(s)]
        assert c[0] == c[1], f"shard {s}: replicas differ {c}"
        per_shard.append(c[0])
    rows, keys, empty = map(int, ch_cluster.node(2, 1).query(
        f"SELECT count(), uniqExact(ev_key), countIf(ev_key = '') FROM {DIST}").split())
    lost = res["generated"] - keys
    duplicates = rows - keys
    writers = ch_cluster.node(2, 1).query(
        f"SELECT writer, count() FROM {DIST} GROUP BY writer ORDER BY writer").split()
    figures = {"topology": "2 managers, 2 shards x 2 replicas", "agents": AGENTS,
               "rate": RATE, "seconds": SECONDS, "events": res["generated"],
               "acked_per_second": res["acked_per_second"], "alerts_a": len(ids_a),
               "alerts_b": len(ids_b), "analysed_twice": analysed_twice, "stored": rows,
               "stored_per_shard": per_shard, "stored_by_writer": writers, "lost": lost,
               "duplicates": duplicates, "without_identity": empty,
               "wall_seconds": round(time.monotonic() - t0, 1)}
    print(json.dumps(figures))
    assert empty == 0
    assert lost == 0, figures
    assert duplicates == 0, figures
    a.stop()
    b.stop()

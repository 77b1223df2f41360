"""The manager's alert store on a ClickHouse cluster (chcluster.py: ZooKeeper and two shards of
two clickhouse-server replicas, from Debian's packages, on loopback), with real faults during
ingest: a replica killed with SIGKILL, one whole shard down for a minute, the manager killed
with SIGKILL and restarted, inserts whose answers are lost after the node stored them. The manager follows a local file (no dockerd). Afterwards every
alert of alerts.json is in the cluster exactly once: counted by alert id on one replica of each
shard, both replicas of a shard hold the same alerts, and `search --json` (through the
Distributed table) gives back every alerts.json line byte for byte. The store's query suite
runs on a cluster in test_store_cluster_queries.py."""
import collections
import json
import os
import random
import signal
import time


from agentlib import wait_until
from chcluster import LossyProxy, ch_cluster  # noqa: F401
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from test_manager_store import alert_lines, caught_up, store_stats, stored_lines
from writers import EventWriter

TABLE = "tld_alerts"
LOCAL = f"default.{TABLE}_local"
SHARD_DOWN_S = float(os.environ.get("TLD_CH_SHARD_DOWN_S", 60))

RULES = """<group name="clustertest,">
  <rule id="100300" level="3">
    <match>cl-event</match>
    <description>cluster store test event</description>
  </rule>
</group>
"""


def start_manager(manager_factory, tmp_path, cluster, urls=None):
    rs = minimal_ruleset(str(tmp_path / "rs"), RULES)
    src = str(tmp_path / "events.log")
    open(src, "w").close()
    urls = "".join(f"<url>{u}</url>" for u in urls or cluster.urls)
    extra = (f"<localfile><log_format>syslog</log_format><location>{src}</location></localfile>"
             f"<store><backend>clickhouse</backend>{urls}<cluster>{cluster.name}</cluster>"
             f"<table>{TABLE}</table></store>")
    m = manager_factory(ruleset_src=rs, logall_json=False, local=True, extra=extra)
    m.start()
    return m, src


def wait_stored(m, expect, timeout=240):
    """The store thread has every line of alerts.json (its position is at the end)."""
    return wait_until(lambda: caught_up(m, expect), timeout, interval=0.5,
                      what=f"the store caught up with {expect} alerts")


def replica_ids(node):
    node.query(f"SYSTEM SYNC REPLICA {LOCAL}", timeout=180)
    return collections.Counter(node.query(f"SELECT alert_id FROM {LOCAL}").split())


def assert_exactly_once(cluster, m, expect, what, compare_raw=False):
    lines = alert_lines(m)
    assert len(lines) == expect, f"{what}: {len(lines)} alerts in alerts.json, want {expect}"
    want = collections.Counter(json.loads(line)["id"] for line in lines)
    assert len(want) == expect, "alerts.json repeats an alert id"
    got = collections.Counter()
    for shard in sorted({n.shard for n in cluster.nodes}):
        copies = [replica_ids(n) for n in cluster.shard(shard)]
        for c in copies[1:]:
            assert c == copies[0], f"{what}: the replicas of shard {shard} differ"
        assert copies[0], f"{what}: shard {shard} holds nothing (batches are spread)"
        got += copies[0]
    dups = {k: v for k, v in got.items() if v > 1}
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    assert not dups, f"{what}: {len(dups)} alerts stored more than once, e.g. {list(dups)[:3]}"
    # Where they are in alerts.json tells a store that lost a batch from one not caught up yet.
    where = sorted(i for i, line in enumerate(lines) if json.loads(line)["id"] in missing)
    assert not missing, (f"{what}: {len(missing)} alerts missing, e.g. {sorted(missing)[:3]},"
                         f" lines {where[:1]}..{where[-1:]} of {len(lines)}")
    assert not extra, f"{what}: {len(extra)} stored alerts not in alerts.json"
    total = int(cluster.nodes[0].query(f"SELECT count() FROM default.{TABLE}"))
    assert total == expect, f"{what}: the Distributed table counts {total}"
    if compare_raw:
        stored = stored_lines(m, "rule.id:100300")
        assert sorted(stored) == sorted(lines), f"{what}: search --json differs from alerts.json"


def feed(src, total, rate):
    w = EventWriter(src, b"cl-event", total, rate)
    w.start()
    return w


def test_cluster_replica_killed_during_ingest(manager_factory, tmp_path, ch_cluster):
    total, rate = 16000, 2000
    print(f"cluster up in {ch_cluster.started_in:.1f} s")
    m, src = start_manager(manager_factory, tmp_path, ch_cluster)
    w = feed(src, total, rate)
    victim = ch_cluster.node(1, 1)
    time.sleep(2.5)
    stored_before = store_stats(m).get("stored", 0)
    victim.kill(signal.SIGKILL)
    print(f"SIGKILL {victim.name}: {w.written} lines written, {stored_before} stored")
    # Its shard goes on through the other replica meanwhile.
    wait_until(lambda: store_stats(m).get("stored", 0) >= stored_before + 4000, 60,
               what="ingest going on with one replica of shard 1 down")
    ch_cluster.restart(victim)
    w.join(timeout=total / rate + 60)
    assert w.written == total
    wait_stored(m, total)
    assert_exactly_once(ch_cluster, m, total, "after a replica was killed")
    m.stop()


def test_cluster_shard_down_during_ingest(manager_factory, tmp_path, ch_cluster):
    rate = 400
    total = int(rate * (SHARD_DOWN_S + 15))
    m, src = start_manager(manager_factory, tmp_path, ch_cluster)
    w = feed(src, total, rate)
    time.sleep(3)
    for n in ch_cluster.shard(2):
        n.kill(signal.SIGKILL)
    down_at = time.monotonic()
    stored_at_kill = store_stats(m).get("stored", 0)
    print(f"shard 2 down (SIGKILL): {w.written} lines written, {stored_at_kill} stored")
    time.sleep(SHARD_DOWN_S)
    st = store_stats(m)
    print(f"after {time.monotonic() - down_at:.0f} s: {st.get('stored')} stored, "
          f"behind {st.get('behind_alerts')}, last error {st.get('last_error')!r}")
    # Batches went on to shard 1 meanwhile, unless one was in flight to shard 2 when it went
    # down: then the store waits for shard 2, since that batch may be stored there.
    went_on = st.get("stored", 0) - stored_at_kill > rate * SHARD_DOWN_S / 2
    assert went_on or "cluster tld_cluster: " in st.get("last_error", ""), st
    for n in ch_cluster.shard(2):
        ch_cluster.restart(n)
    w.join(timeout=total / rate + 60)
    assert w.written == total
    wait_stored(m, total)
    assert_exactly_once(ch_cluster, m, total, "after a shard was down")
    m.stop()


def test_cluster_manager_killed_during_ingest(manager_factory, tmp_path, ch_cluster):
    seed = int(os.environ.get("TLD_STORE_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"seed {seed}")
    total, rate = 16000, 2000
    m, src = start_manager(manager_factory, tmp_path, ch_cluster)
    w = feed(src, total, rate)
    duration = total / rate
    for _ in range(3):
        time.sleep(rnd.uniform(0.15, 0.3) * duration)
        print(f"SIGKILL manager: {w.written} lines written")
        m.kill9()
        time.sleep(0.3)
        m.start()
    w.join(timeout=duration + 60)
    assert w.written == total
    wait_stored(m, total)
    assert_exactly_once(ch_cluster, m, total, "after the manager was killed", compare_raw=True)
    # Restarted once more with everything stored: nothing is stored again.
    m.stop()
    m.start()
    wait_stored(m, total)
    assert store_stats(m).get("stored", 0) == 0
    assert_exactly_once(ch_cluster, m, total, "after a restart with nothing new")
    m.stop()


def test_cluster_insert_answer_lost(manager_factory, tmp_path, ch_cluster):
    """Inserts that a replica of shard 1 stored but whose answers were lost (a proxy closes
    the connection after the node ran them): the store cannot know they are stored, sends the
    same bytes again to the same shard, and the shard keeps one copy."""
    total, rate = 12000, 1500  # about 16 batches, half of them to shard 1
    victim = ch_cluster.node(1, 1)
    proxy = LossyProxy(victim, drops=3)
    proxy.start()
    try:
        urls = [proxy.url if n is victim else n.url for n in ch_cluster.nodes]
        m, src = start_manager(manager_factory, tmp_path, ch_cluster, urls)
        w = feed(src, total, rate)
        w.join(timeout=total / rate + 60)
        assert w.written == total
        wait_stored(m, total)
    finally:
        proxy.close()
    print(f"{proxy.inserts} inserts through the proxy, {proxy.dropped} answers lost")
    assert proxy.dropped == 3, "the proxy saw too few inserts to lose their answers"
    assert_exactly_once(ch_cluster, m, total, "after inserts whose answers were lost")
    m.stop()


def test_cluster_unsure_batch_waits_for_its_shard(manager_factory, tmp_path, ch_cluster):
    """The hard case: a batch stored by the last replica of shard 2 that is up, which dies
    before answering. The store cannot know the batch is in, and no replica of that shard can
    tell it: it must neither move the batch to shard 1 (a second copy once shard 2 is back)
    nor go on past it. It waits, and once shard 2 is back every alert is there once."""
    total, rate = 8000, 1000
    last, other = ch_cluster.shard(2)
    proxy = LossyProxy(last, drops=0, on_drop=lambda: last.kill(signal.SIGKILL))
    proxy.start()
    try:
        urls = [proxy.url if n is last else n.url for n in ch_cluster.nodes]
        m, src = start_manager(manager_factory, tmp_path, ch_cluster, urls)
        w = feed(src, total, rate)
        wait_until(lambda: store_stats(m).get("stored", 0) >= 1000, 60, what="ingest started")
        other.kill(signal.SIGKILL)
        proxy.drops = 1
        wait_until(lambda: proxy.dropped, 60, what="a batch to shard 2 whose answer is lost")
        # Its replicas are down, or not even mapped to a shard yet by a new handle.
        st = wait_until(lambda: (s := store_stats(m)) and
                        "cluster tld_cluster: " in s.get("last_error", "") and s,
                        60, what="the store waiting for shard 2")
        w.join(timeout=total / rate + 60)
        time.sleep(2)
        assert store_stats(m).get("behind_alerts", 0) > 0, "the store went on without shard 2"
        print(f"waiting for shard 2: {st.get('last_error')!r}")
        ch_cluster.restart(last)
        ch_cluster.restart(other)
        wait_stored(m, total)
    finally:
        proxy.close()
    assert_exactly_once(ch_cluster, m, total, "after an unsure batch waited for its shard")
    m.stop()

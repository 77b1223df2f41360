"""The store's query suite on a ClickHouse cluster (chcluster.py: ZooKeeper and two shards of
two clickhouse-server replicas on loopback): the unit test binary that the SQLite and single
server backends pass against the same model runs against the cluster's Distributed table, so
SQLite and the cluster give the same results for the same alerts."""
import os
import subprocess

import agentlib
from chcluster import ch_cluster  # noqa: F401


def test_cluster_query_suite(ch_cluster):
    """The store's query suite (tests/unit/test_store_suite.h: hand-written and generated
    queries, docs/query.md's examples, histograms, top values, live tail, byte-identical
    alerts), which the SQLite and single-server binaries pass against the same model, run
    against the cluster; then replays and retention by age there."""
    binary = os.path.join(agentlib.build_dir(), "tests", "test_store_clickhouse")
    env = dict(os.environ, TLD_CH_CLUSTER_URLS=" ".join(ch_cluster.urls),
               TLD_CH_CLUSTER=ch_cluster.name)
    r = subprocess.run([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "[  PASSED  ]" in out, out[-4000:]
    assert "[  FAILED  ]" not in out and "SKIPPED" not in out, out[-4000:]


def test_cluster_resent_block_is_stored_once(ch_cluster):
    """What the store's retries rest on, checked on 18.16 itself: the same block inserted again
    into any replica of a shard (even one that has not fetched the first copy yet) is ignored,
    while a different block is stored."""
    n1, n2 = ch_cluster.shard(1)
    n1.query("CREATE TABLE default.dedup ON CLUSTER tld_cluster (id UInt64, s String) ENGINE ="
             " ReplicatedMergeTree('/clickhouse/tables/{shard}/default.dedup', '{replica}')"
             " ORDER BY id")
    n2.query("SYSTEM STOP FETCHES default.dedup")  # n2 cannot have the first copy yet
    block = "INSERT INTO default.dedup VALUES (1, 'a'), (2, 'b')"
    n1.query(block)
    n2.query(block)
    n1.query(block)
    assert n1.query("SELECT count() FROM default.dedup").strip() == "2"
    n2.query("SYSTEM START FETCHES default.dedup")
    n2.query("SYSTEM SYNC REPLICA default.dedup")
    assert n2.query("SELECT count() FROM default.dedup").strip() == "2"
    n2.query("INSERT INTO default.dedup VALUES (1, 'a'), (2, 'c')")
    n1.query("SYSTEM SYNC REPLICA default.dedup")
    assert n1.query("SELECT count() FROM default.dedup").strip() == "4"
    # The other shard holds its own copy of the table and none of these rows.
    assert ch_cluster.node(2, 1).query("SELECT count() FROM default.dedup").strip() == "0"

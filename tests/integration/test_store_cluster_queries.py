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
                       timeout=300)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "[  PASSED  ]" in out, out[-4000:]
    assert "[  FAILED  ]" not in out and "SKIPPED" not in out, out[-4000:]

#!/usr/bin/env bash
# The scale-out topology for `make bench` (figures into docs/performance.md, section
# "Two managers and a ClickHouse cluster"): tests/integration/test_fleet_topology.py on the
# release build, with TLD_TOPO_AGENTS simulated agents (default 200) at TLD_TOPO_RATE events/s
# each (default 20) for TLD_TOPO_SECONDS (default 60): two managers of one fleet, ZooKeeper and a
# ClickHouse cluster of two shards with two replicas each on loopback; the first manager and a
# replica are killed with SIGKILL and started again during the run. Prints the run's JSON line
# (events, alerts per manager, events analysed by both, rows stored, lost, duplicates) and
# writes the section; exits non-zero unless lost and duplicates are both 0.
set -euo pipefail
cd "$(dirname "$0")/.."
export TLD_TOPO_AGENTS=${TLD_TOPO_AGENTS:-200}
export TLD_TOPO_RATE=${TLD_TOPO_RATE:-20}
export TLD_TOPO_SECONDS=${TLD_TOPO_SECONDS:-60}
make -j2 --no-print-directory all >/dev/null
mkdir -p build/bench
log=build/bench/topology.log
status=0
(cd tests/integration && TLD_BUILD="$PWD/../../build" TLD_SHARED="${TLD_SHARED:-$PWD/../../../shared}" \
    /usr/bin/python3 -m pytest -q -s -p no:cacheprovider test_fleet_topology.py) >"$log" 2>&1 ||
    status=$?
line=$(grep -m1 '^{"topology"' "$log" || true)
if [[ -z $line ]]; then
    tail -n 40 "$log" >&2
    exit 1
fi
echo "$line" | tee build/bench/topology.jsonl
python3 - "$line" "$status" <<'PY' | python3 bench/doc_section.py topology "Two managers and a ClickHouse cluster (bench/topology.sh)"
import datetime, json, os, sys
d = json.loads(sys.argv[1])
ok = sys.argv[2] == "0"
print(f"`bash bench/topology.sh` (release build; part of `make bench`), "
      f"{datetime.date.today().isoformat()}, on this {os.cpu_count()}-core machine shared with "
      "other work: tests/integration/test_fleet_topology.py at a larger size. Two managers of "
      "one fleet, ZooKeeper and a ClickHouse cluster of two shards x two replicas "
      "(clickhouse-server 18.16), all on loopback; the simulator's agents list both managers. "
      f"At {0.3 * d['seconds']:.0f} s the first manager is killed with SIGKILL (its agents fail "
      f"over, each counting its last 5 acknowledgements as lost in flight, so those events "
      "reach both managers), at "
      f"{0.45 * d['seconds']:.0f} s the first replica of shard 1; the manager is "
      f"started again at {0.6 * d['seconds']:.0f} s, the replica at {0.8 * d['seconds']:.0f} s.")
print()
print("| two-manager + ClickHouse cluster run | result |")
print("|---|---|")
rows = [
    ("simulated agents x events/s each, seconds", f"{d['agents']} x {d['rate']:g}/s, {d['seconds']} s"),
    ("events generated, all acknowledged", f"{d['events']:,} ({d['acked_per_second']:,}/s acknowledged)"),
    ("alerts written by manager A / B", f"{d['alerts_a']:,} / {d['alerts_b']:,}"),
    ("events analysed by both managers (resent after the kill)", f"{d['analysed_twice']:,}"),
    ("rows stored by manager A / B", " / ".join(f"{int(n):,}" for n in d["stored_by_writer"][1::2])),
    ("rows in the cluster (per shard)", f"{d['stored']:,} ({' + '.join(f'{n:,}' for n in d['stored_per_shard'])})"),
    ("**lost / duplicates in the store**", f"**{d['lost']} / {d['duplicates']}** (must be 0/0)" + ("" if ok else " — FAILED")),
    ("wall time of the run (cluster start to checks)", f"{d['wall_seconds']} s"),
]
for k, v in rows:
    print(f"| {k} | {v} |")
PY
exit $status

#!/usr/bin/env bash
# Fleet benchmark for `make bench` (figures into docs/performance.md, section "Fleet"):
#  1. TLS handshake CPU, full against resumed (bench/bench_tls.c);
#  2. enrollment: TLD_FLEET_ENROLL (default 1000) fresh agents through the real port with a
#     password;
#  3. the release tld-manager holding TLD_FLEET_AGENTS agents (default 10000) from the simulator
#     (bench/agent_sim.c, TLD_FLEET_THREADS event loops, default 2) at TLD_FLEET_RATE events/s
#     each (default 10) for TLD_FLEET_SECONDS (default 60), the manager restarted after a third
#     of it (the reconnect storm), every event acknowledged in the end.
# Identities of step 3 are kept in build/bench/fleet-ids-N, so only the first run pays for them.
# Each step prints one JSON line; bench/fleet_doc.py turns them into the section.
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${TLD_FLEET_AGENTS:-10000}
rate=${TLD_FLEET_RATE:-10}
seconds=${TLD_FLEET_SECONDS:-60}
threads=${TLD_FLEET_THREADS:-2}
enroll=${TLD_FLEET_ENROLL:-1000}
make -j2 --no-print-directory all >/dev/null
mkdir -p build/bench
flags=(-std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -pthread -Isrc)
libs=($(pkg-config --libs openssl libcjson) -lm)
cc "${flags[@]}" bench/agent_sim.c build/lib/libtld_agent.a build/lib/libtld_common.a \
    "${libs[@]}" -o build/bench/agent_sim
cc "${flags[@]}" bench/bench_tls.c build/lib/libtld_common.a "${libs[@]}" -o build/bench/bench_tls
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=build/bench/fleet.jsonl
: >"$out"

mkdir -p "$work/tls"
build/bench/bench_tls "$work/tls" 400 | tee -a "$out"

mkdir -p "$work/enroll/ids"
python3 bench/fleet.py build build/bench/agent_sim "$work/enroll" --agents "$enroll" \
    --rate 1 --seconds 2 --threads "$threads" | sed 's/^{/{"step": "enroll", /' | tee -a "$out"

# The manager's state is per run; the identities it issued are kept with its CA beside them.
ids="build/bench/fleet-ids-$agents"
mkdir -p "$work/fleet" "$ids/ids"
if [[ -d "$ids/root" ]]; then cp -a "$ids/root" "$work/fleet/root"; fi
ln -s "$(realpath -m "$ids/ids")" "$work/fleet/ids"
python3 bench/fleet.py build build/bench/agent_sim "$work/fleet" --agents "$agents" \
    --rate "$rate" --seconds "$seconds" --restart-at $((seconds / 3)) --threads "$threads" |
    sed 's/^{/{"step": "fleet", /' | tee -a "$out" || cp "$work/fleet/manager.log" build/bench/
cp "$work/fleet/manager.log" build/bench/fleet-manager.log # for a look after the run
rm -rf "$ids/root"
cp -a "$work/fleet/root" "$ids/root"
rm -rf "$ids/root/queue" "$ids/root/logs" "$ids/root/var/run"
python3 bench/fleet_doc.py "$out" | python3 bench/doc_section.py fleet "Fleet (bench/fleet.sh)"

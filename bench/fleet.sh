#!/usr/bin/env bash
# Fleet benchmark for `make bench`: the release tld-manager on loopback ports and the simulator
# (bench/agent_sim.c) holding TLD_FLEET_AGENTS agents (default 2000) at TLD_FLEET_RATE events/s
# each (default 10) for TLD_FLEET_SECONDS (default 30), every connection dropped at once after
# a third of the run (a reconnect storm). Enrollment goes through the real port with a password;
# identities are kept in build/bench/fleet-ids-N, so only the first run pays for them.
# Prints the figures as one JSON line (see bench/fleet.py for the fields).
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${TLD_FLEET_AGENTS:-2000}
rate=${TLD_FLEET_RATE:-10}
seconds=${TLD_FLEET_SECONDS:-30}
make -j2 --no-print-directory all >/dev/null
mkdir -p build/bench
cc -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -pthread -Isrc \
    bench/agent_sim.c build/lib/libtld_agent.a build/lib/libtld_common.a \
    $(pkg-config --libs openssl libcjson) -lm -o build/bench/agent_sim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The manager's state is per run; the identities it issued are kept with its CA beside them.
ids="build/bench/fleet-ids-$agents"
if [[ -d "$ids/root" ]]; then cp -a "$ids/root" "$work/root"; fi
ln -s "$(realpath -m "$ids/ids")" "$work/ids"
mkdir -p "$ids/ids"
python3 bench/fleet.py build build/bench/agent_sim "$work" --agents "$agents" --rate "$rate" \
    --seconds "$seconds" --storm-at $((seconds / 3))
rm -rf "$ids/root"
cp -a "$work/root" "$ids/root"
rm -rf "$ids/root/queue" "$ids/root/logs" "$ids/root/var/run"

#!/usr/bin/env bash
# `make bench` piece: end-to-end events/s agent -> manager -> alerts.json over TLS on loopback,
# with the manager's and the agent's CPU per event (bench/manager_e2e.py): medians of 3 runs,
# also written into docs/performance.md. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/manager_e2e.py --build build --doc "$@"

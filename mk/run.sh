#!/usr/bin/env bash
# `make run`: analyse events interactively with the shipped ruleset (the manager replaces this).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "tld-logtest on ruleset/: type or paste log lines (Ctrl-D to end)." >&2
exec build/bin/tld-logtest --ruleset ruleset

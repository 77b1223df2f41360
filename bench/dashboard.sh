#!/usr/bin/env bash
# `make bench` piece: the dashboard in Chromium over a large SQLite store (first load cold and
# warm, query to painted table, opening a document, the assets' gzipped size), written into
# docs/performance.md. Release build. DASH_BENCH_DB names an existing store (opened read-only);
# without it a store of DASH_BENCH_ALERTS alerts (default 1,000,000) is made for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
make -j2 all >/dev/null
make web >/dev/null
FLAGS="-O2 -Isrc $(pkg-config --cflags --libs libcjson sqlite3 libpcre2-8 libcurl) -lm"
# shellcheck disable=SC2086
cc bench/bench_store.c build/lib/libtld_store.a build/lib/libtld_common.a $FLAGS -o build/bench_store
args=(--build build --alerts "${DASH_BENCH_ALERTS:-1000000}" --doc)
if [ -n "${DASH_BENCH_DB:-}" ]; then args+=(--db "$DASH_BENCH_DB"); fi
exec /usr/bin/python3 bench/dashboard_bench.py "${args[@]}" "$@"

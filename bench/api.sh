#!/usr/bin/env bash
# `make bench` piece: tld-api's alert routes (p50/p95 with 20 concurrent clients over a large
# SQLite store), live-stream latency and 1,000 held streams with the API's memory
# (bench/api_bench.py), written into docs/performance.md. Release build. API_BENCH_ALERTS
# sets the store size (default 1,000,000; the issue's figure is 10,000,000); API_BENCH_STORE
# keeps the store at that path and reuses it on later runs (outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
make -j2 all >/dev/null
FLAGS="-O2 -Isrc $(pkg-config --cflags --libs libcjson sqlite3 libpcre2-8 libcurl) -lm"
for t in bench_store store_append; do
    # shellcheck disable=SC2086
    cc bench/$t.c build/lib/libtld_store.a build/lib/libtld_common.a $FLAGS -o build/$t
done
exec /usr/bin/python3 bench/api_bench.py --build build --alerts "${API_BENCH_ALERTS:-1000000}" \
    ${API_BENCH_STORE:+--store "$API_BENCH_STORE"} --doc "$@"

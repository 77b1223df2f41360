#!/usr/bin/env bash
# `make bench` piece: the SQLite alert store (bench/bench_store.c), written to docs/performance.md
# by bench/store_report.py.
#
#   bash bench/store.sh
#
# Template alerts come from the engine: bench/gen_corpus.py's three corpora (Docker events, web
# logs with attacks, authentication) go through bench_engine with the project's ruleset, and the
# alerts.json lines it writes are the templates. bench_store then generates the store corpus from
# them (each alert with its own time over 7 days, one of 50 agents, its own container replica and
# source address), ingests it in batches of 10,000 and times the dashboard's queries.
#   - ingest rate: TLD_STORE_BENCH_RUNS runs (default 3) of TLD_STORE_BENCH_RATE_COUNT alerts
#     (default 1,000,000) on a fresh store each, median with [min-max];
#   - the large store: one run of TLD_STORE_BENCH_COUNT alerts (default 10,000,000), its ingest
#     rate and disk bytes per alert, then every query TLD_STORE_BENCH_REPS times (default 20),
#     median and p95.
# The database goes to TLD_STORE_BENCH_DIR (default build/bench/store; 10 million alerts take
# about 16 GB) and is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${TLD_STORE_BENCH_RUNS:-3}
RATE_COUNT=${TLD_STORE_BENCH_RATE_COUNT:-1000000}
COUNT=${TLD_STORE_BENCH_COUNT:-10000000}
REPS=${TLD_STORE_BENCH_REPS:-20}
DIR=${TLD_STORE_BENCH_DIR:-build/bench/store}
OUT=build/bench
mkdir -p "$OUT" "$DIR"

for lib in build/lib/libtld_store.a build/lib/libtld_engine.a build/lib/libtld_common.a; do
    [[ -f $lib ]] || { echo "bench: $lib is missing; run make first" >&2; exit 1; }
done
CFLAGS=(-std=c17 -Wall -Wextra -Werror -Wshadow -Wvla -Wno-unused-parameter -D_GNU_SOURCE -pthread
    -O2 -g -Isrc)
# shellcheck disable=SC2046 # pkg-config output splits into words
cc "${CFLAGS[@]}" $(pkg-config --cflags libpcre2-8 libcjson) bench/bench_engine.c \
    build/lib/libtld_engine.a build/lib/libtld_common.a $(pkg-config --libs libpcre2-8 libcjson) \
    -lm -o "$OUT/bench_engine"
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" $(pkg-config --cflags libcjson sqlite3) bench/bench_store.c \
    build/lib/libtld_store.a build/lib/libtld_common.a \
    $(pkg-config --libs libcjson sqlite3 libpcre2-8 libcurl) -lm -o "$OUT/bench_store"

# Templates: 30,000 events of each corpus through the engine (fixed seed: the same bytes).
T=$OUT/store-templates
stamp="$(cat bench/gen_corpus.py bench/bench_engine.c ruleset/rules/*.xml | sha256sum | cut -c1-16)"
if [[ ! -f $T/stamp || "$(cat "$T/stamp")" != "$stamp" ]]; then
    rm -rf "$T"
    mkdir -p "$T"
    python3 bench/gen_corpus.py "$T" --events 30000 --seed 1
    for c in docker nginx auth; do
        args=(--ruleset ruleset)
        [[ $c != nginx ]] || args+=(--decoders tests/data/mission/local_decoder.xml)
        "$OUT/bench_engine" "${args[@]}" --corpus "$T/$c.tsv" --threads 1 --dump "$T/dump" \
            >/dev/null
        awk 'NR % 2 == 1 && $0 != "-"' "$T/dump" >"$T/$c.alerts.json"
        rm -f "$T/dump"
    done
    echo "$stamp" >"$T/stamp"
fi
TEMPLATES=("$T/docker.alerts.json" "$T/nginx.alerts.json" "$T/auth.alerts.json")

RESULTS=$OUT/store-results.jsonl
: >"$RESULTS"
DB=$DIR/bench.db
trap 'rm -f "$DB" "$DB-wal" "$DB-shm"' EXIT
for ((i = 1; i <= RUNS; i++)); do
    echo "bench: store ingest run $i of $RUNS ($RATE_COUNT alerts)"
    "$OUT/bench_store" --db "$DB" --count "$RATE_COUNT" --reps 1 --json "${TEMPLATES[@]}" |
        grep '^{"ingest' | sed "s/^{/{\"run\": \"rate\", /" >>"$RESULTS"
done
echo "bench: store of $COUNT alerts, queries $REPS times each"
"$OUT/bench_store" --db "$DB" --count "$COUNT" --reps "$REPS" --json "${TEMPLATES[@]}" |
    tee "$OUT/store-large.txt" | grep '^{' | sed "s/^{/{\"run\": \"large\", /" >>"$RESULTS"
grep -v '^{' "$OUT/store-large.txt"
python3 bench/store_report.py --results "$RESULTS" --count "$COUNT" --runs "$RUNS" \
    --rate-count "$RATE_COUNT" --reps "$REPS"

#!/usr/bin/env bash
# `make bench` piece (bench/run.sh runs it): engine throughput, ruleset load time and peak RSS,
# written to docs/performance.md.
#
#   bash bench/engine.sh [SHARED_DIR]  (default: $TLD_SHARED, else ../shared)
#
# Builds bench/bench_engine.c against the release libraries (`make` must have run), generates the
# three corpora with bench/gen_corpus.py (fixed seed; regenerated only when the generator
# changes), then for every ruleset setup and corpus runs the driver TLD_BENCH_RUNS times (default
# 5): each run loads the ruleset, then makes one pass on one thread and one on two threads; then
# as many streaming runs for the peak RSS. bench/report.py turns the results into the document.
# Environment: TLD_BENCH_RUNS (runs per figure), TLD_BENCH_EVENTS (events per corpus, default
# 200000; another value is for quick trials and is written in the document).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${1:-${TLD_SHARED:-$ROOT/../shared}}
RUNS=${TLD_BENCH_RUNS:-5}
EVENTS=${TLD_BENCH_EVENTS:-200000}
OUT=$ROOT/build/bench
CORPUS=$OUT/corpus
cd "$ROOT"

for lib in build/lib/libtld_engine.a build/lib/libtld_common.a; do
    [[ -f $lib ]] || { echo "bench: $lib is missing; run make first" >&2; exit 1; }
done
mkdir -p "$OUT" "$CORPUS"

# The driver, built with the release flags.
PKGS="libpcre2-8 libcjson"
cc -std=c17 -Wall -Wextra -Werror -Wshadow -Wvla -Wno-unused-parameter -D_GNU_SOURCE -pthread -O2 \
    -g -Isrc $(pkg-config --cflags $PKGS) bench/bench_engine.c build/lib/libtld_engine.a \
    build/lib/libtld_common.a $(pkg-config --libs $PKGS) -lm -o "$OUT/bench_engine"

# The corpora: same generator, seed and size give the same bytes, so they are kept between runs.
stamp="$(sha256sum bench/gen_corpus.py | cut -c1-16) seed=1 events=$EVENTS"
if [[ ! -f $CORPUS/stamp || "$(cat "$CORPUS/stamp")" != "$stamp" ]]; then
    echo "bench: generating 3 corpora of $EVENTS events (seed 1)"
    rm -f "$CORPUS"/stamp
    python3 bench/gen_corpus.py "$CORPUS" --events "$EVENTS" --seed 1
    echo "$stamp" >"$CORPUS/stamp"
fi
sha256sum "$CORPUS"/{docker,nginx,auth}.tsv | sed "s|$CORPUS/||" >"$OUT/corpus.sha256"

RESULTS=$OUT/results.jsonl
: >"$RESULTS"
MISSION_DECODER=tests/data/mission/local_decoder.xml

# run SETUP CORPUS ARGS...: RUNS timed runs and RUNS RSS runs, each line tagged.
run() {
    local setup=$1 corpus=$2
    shift 2
    local tag="{\"setup\": \"$setup\", \"corpus\": \"$corpus\", \"run\": "
    for ((i = 1; i <= RUNS; i++)); do
        "$OUT/bench_engine" "$@" --corpus "$CORPUS/$corpus.tsv" --threads 1 --threads 2 |
            sed "s/^{/$tag$i, /" >>"$RESULTS"
        echo -n "."
    done
    for ((i = 1; i <= RUNS; i++)); do
        "$OUT/bench_engine" "$@" --corpus "$CORPUS/$corpus.tsv" --rss | sed "s/^{/$tag$i, /" \
            >>"$RESULTS"
        echo -n "."
    done
}

setups=()
if [[ -d $SHARED/wazuh-ruleset/rules ]]; then
    W=$SHARED/wazuh-ruleset
    echo -n "bench: Wazuh ruleset ($W) "
    run wazuh docker --ruleset "$W"
    run wazuh nginx --ruleset "$W" --decoders "$MISSION_DECODER"
    run wazuh auth --ruleset "$W"
    echo
    setups+=(wazuh)
else
    echo "bench: $SHARED/wazuh-ruleset is absent; skipping the measurements with the Wazuh ruleset"
fi
if compgen -G "ruleset/rules/*.xml" >/dev/null; then
    echo -n "bench: project ruleset (ruleset/) "
    run project docker --ruleset ruleset
    run project nginx --ruleset ruleset --decoders "$MISSION_DECODER"
    run project auth --ruleset ruleset
    echo
    setups+=(project)
else
    echo "bench: ruleset/ has no rules yet; skipping the measurements with the project's ruleset"
fi
if [[ ${#setups[@]} -eq 0 ]]; then
    echo "bench: nothing to measure (no ruleset available); docs/performance.md left unchanged"
    exit 0
fi

python3 bench/report.py --results "$RESULTS" --corpus-sums "$OUT/corpus.sha256" \
    --events "$EVENTS" --runs "$RUNS" --out docs/performance.md

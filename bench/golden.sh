#!/usr/bin/env bash
# Behaviour snapshot of a build, for proving that a refactoring changes nothing: run it with the
# build before and the build after, then bench/golden-compare.sh on the two folders.
#
#   bash bench/golden.sh BUILD_DIR OUT_DIR [SHARED_DIR]   (SHARED_DIR default: $TLD_SHARED, else
#                                                          ../shared)
#
# BUILD_DIR is a release build tree (bin/tld-logtest, lib/*.a) whose sources are its parent
# folder (override with TLD_GOLDEN_SRC); bench/bench_engine.c of those sources is compiled against
# its libraries (plus TLD_GOLDEN_LDLIBS if they need more system libraries), so the engine is
# driven through the interface of the code under test. The inputs always come from this script's
# checkout (corpus generator, ruleset/, the mission's decoder, the .ini reader), so both runs see
# the same bytes; OUT_DIR/inputs.sha256 proves it.
# Written into OUT_DIR (emptied first; refused if it holds something other than a snapshot):
#   corpus/SETUP-CORPUS.alerts.json    alerts.json lines, as the manager writes them (bench_engine:
#                                      agent 001, container metadata, 2 ms between events)
#   corpus/SETUP-CORPUS.archives.json  archives.json lines: every event, alerted or not
#   corpus/SETUP-CORPUS.summary.json   the counts: events, alerts, undecoded, alerts per rule
#   corpus/SETUP-CORPUS.logtest.json   tld-logtest --json, one run per location of the corpus
#   ini/NAME.phases.txt                tld-logtest's phases (decoding, rule, alert JSON) for every
#                                      log line of NAME.ini, one run per file (so, unlike --test,
#                                      correlation state carries from one test to the next)
#   ini/all.alerts.json, all.archives.json  every .ini log line through bench_engine (one stream)
#   ini/run-wazuh-tests.txt            the conformance run (-v, GeoIP files included)
#   load/SETUP.txt                     `tld-logtest -t` of every ruleset setup (project, wazuh,
#                                      each with -nginx, tests), paths made neutral
# SETUP is `project` (ruleset/) or `wazuh` (SHARED_DIR/wazuh-ruleset); CORPUS docker, nginx, auth
# (bench/gen_corpus.py, seed 1, TLD_GOLDEN_EVENTS events each, default 30000). Receipt times,
# the manager's name and the time zone are pinned, so the same build gives the same bytes.
set -euo pipefail

[[ $# -ge 2 ]] || {
    sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd)
OUT=$2
SHARED=$(cd "${3:-${TLD_SHARED:-$ROOT/../shared}}" && pwd)
SRC=$(cd "${TLD_GOLDEN_SRC:-$BUILD/..}" && pwd)
EVENTS=${TLD_GOLDEN_EVENTS:-30000}
JOBS=${TLD_GOLDEN_JOBS:-2}
LOGTEST=$BUILD/bin/tld-logtest
WAZUH=$SHARED/wazuh-ruleset
NGINX_DECODER=$ROOT/tests/data/mission/local_decoder.xml
# A Wednesday 10:00 (rules with <time>/<weekday> see office hours, as the conformance run pins).
TIME=1795600800
MANAGER=golden-manager
export TZ=UTC LC_ALL=C

for f in "$LOGTEST" "$SRC/bench/bench_engine.c" "$WAZUH/rules" "$ROOT/ruleset/rules"; do
    [[ -e $f ]] || { echo "golden: $f is missing" >&2; exit 1; }
done
start=$(date +%s%N)
TMP=$(mktemp -d /tmp/tld-golden.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
if [[ -d $OUT && -n "$(ls -A "$OUT")" && ! -f $OUT/inputs.sha256 ]]; then
    echo "golden: $OUT is not empty and not a snapshot; not replacing it" >&2
    exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"/{corpus,ini,load}
OUT=$(cd "$OUT" && pwd)

# Paths that differ between checkouts or runs, replaced in anything compared.
neutral() {
    sed -e "s|$TMP|<tmp>|g" -e "s|/tmp/tld-wazuh-tests-[^/]*|<tmp>|g" -e "s|$WAZUH|<wazuh-ruleset>|g" -e "s|$ROOT|<root>|g" \
        -e "s|loaded in [0-9.]* s|loaded in <t> s|"
}

# The engine driver, from the sources of the build under test, linked with all its libraries.
LIBS=("$BUILD"/lib/*.a)
# shellcheck disable=SC2046,SC2086 # pkg-config output and TLD_GOLDEN_LDLIBS split into words
cc -std=c17 -D_GNU_SOURCE -pthread -O2 -I"$SRC/src" $(pkg-config --cflags libpcre2-8 libcjson) \
    "$SRC/bench/bench_engine.c" -Wl,--start-group "${LIBS[@]}" -Wl,--end-group \
    $(pkg-config --libs libpcre2-8 libcjson) -lm ${TLD_GOLDEN_LDLIBS:-} -o "$TMP/bench_engine"

# Inputs.
python3 "$ROOT/bench/gen_corpus.py" "$TMP/corpus" --events "$EVENTS" --seed 1
python3 "$ROOT/bench/golden_prep.py" ini-logs "$WAZUH/testing/tests" "$TMP/ini"
mapfile -t TEST_EXTRA < <(python3 "$ROOT/bench/golden_prep.py" tests-ruleset "$WAZUH" "$TMP/tests-ruleset")
{
    (cd "$TMP" && sha256sum corpus/*.tsv ini/*)
    (cd "$ROOT" && find ruleset tests/data/mission/local_decoder.xml -type f | sort | xargs sha256sum)
    (cd "$SHARED" && find wazuh-ruleset -type f | sort | xargs sha256sum)
} >"$OUT/inputs.sha256"

# setup_args SETUP CORPUS: the ruleset options of a setup, as bench/engine.sh passes them.
setup_args() {
    case $1 in
    project) ARGS=(--ruleset "$ROOT/ruleset") ;;
    wazuh) ARGS=(--ruleset "$WAZUH") ;;
    tests) ARGS=(--ruleset "$TMP/tests-ruleset" "${TEST_EXTRA[@]}") ;;
    esac
    [[ $2 != nginx ]] || ARGS+=(--decoders "$NGINX_DECODER")
}

# dump NAME TSV ARGS...: bench_engine's alert and archive lines of a corpus, split in two files,
# and its counts with the alerts per rule (its own top-rules list is left out: ties between rules
# come in an order that depends on addresses).
dump() {
    local name=$1 tsv=$2
    shift 2
    "$TMP/bench_engine" "$@" --corpus "$tsv" --threads 1 --dump "$TMP/dump" \
        2>"$TMP/${name//\//_}.err" >"$TMP/stats"
    awk 'NR % 2 == 1 && $0 != "-"' "$TMP/dump" >"$OUT/$name.alerts.json"
    awk 'NR % 2 == 0' "$TMP/dump" >"$OUT/$name.archives.json"
    rm -f "$TMP/dump"
    python3 - "$TMP/stats" "$OUT/$name.alerts.json" >"$OUT/$name.summary.json" <<'PY'
import collections, json, sys
pass1 = [d for d in map(json.loads, open(sys.argv[1])) if d.get("threads") == 1][0]
rules = collections.Counter(json.loads(a)["rule"]["id"] for a in open(sys.argv[2], "rb"))
summary = {k: pass1[k] for k in ("events", "alerts", "undecoded", "alert_bytes")}
summary["alerts_per_rule"] = dict(sorted(rules.items(), key=lambda r: (len(r[0]), r[0])))
print(json.dumps(summary, indent=1))
PY
}

# logtest_corpus NAME TSV ARGS...: tld-logtest --json on the corpus, one run per location.
logtest_corpus() {
    local name=$1 tsv=$2 dir=$TMP/split-${1//\//_}
    shift 2
    python3 "$ROOT/bench/golden_prep.py" split-corpus "$tsv" "$dir" >"$dir.locs"
    while IFS=$'\t' read -r n loc; do
        echo "# location: $loc"
        "$LOGTEST" "$@" --location "$loc" --manager-name "$MANAGER" --time "$TIME" --json \
            -f "$dir/$n.txt" 2>>"$TMP/${name//\//_}.err"
    done <"$dir.locs" >"$OUT/$name.logtest.json"
}

for setup in project wazuh; do
    for corpus in docker nginx auth; do
        setup_args $setup $corpus
        echo "golden: $setup $corpus"
        dump "corpus/$setup-$corpus" "$TMP/corpus/$corpus.tsv" "${ARGS[@]}"
        logtest_corpus "corpus/$setup-$corpus" "$TMP/corpus/$corpus.tsv" "${ARGS[@]}"
    done
done

for s in project:- project:nginx wazuh:- wazuh:nginx tests:-; do
    setup_args "${s%%:*}" "${s#*:}"
    rc=0
    "$LOGTEST" "${ARGS[@]}" -t >"$TMP/load.txt" 2>&1 || rc=$?
    name=${s%%:*}
    [[ $s != *:nginx ]] || name+=-nginx
    { neutral <"$TMP/load.txt"; echo "exit $rc"; } >"$OUT/load/$name.txt"
done

echo "golden: Wazuh ruleset tests"
setup_args tests -
python3 "$ROOT/tests/conformance/run-wazuh-tests" "$WAZUH" "$WAZUH/testing/tests" --geoip -v \
    --min-pass 0 --time "$TIME" --logtest "$LOGTEST" 2>&1 | neutral >"$OUT/ini/run-wazuh-tests.txt"
dump ini/all "$TMP/ini/all.tsv" "${ARGS[@]}" --local
running=0
for log in "$TMP"/ini/*.log; do
    name=$(basename "$log" .log)
    (
        rc=0
        "$LOGTEST" "${ARGS[@]}" --manager-name "$MANAGER" --time "$TIME" -f "$log" \
            2>"$TMP/ini/$name.err" || rc=$?
        echo "exit $rc"
    ) >"$OUT/ini/$name.phases.txt" &
    if ((++running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

echo "golden: $(find "$OUT" -type f | wc -l) files in $OUT"
(cd "$OUT" && find . -type f | sort | xargs wc -l | sed 's|\./||')
ms=$((($(date +%s%N) - start) / 1000000))
printf 'golden: %d.%03d s\n' $((ms / 1000)) $((ms % 1000))

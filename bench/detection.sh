#!/usr/bin/env bash
# `make bench-detection`: web attack detection of whole rulesets, ours and the Wazuh ruleset side
# by side (bench/detection_rules.c), on the labelled payloads of <shared>/web-attacks in nginx
# access lines, three encodings each, plus generated benign requests (bench/gen_benign.py), and
# attack families and benign hard cases from bench/gen_families.py (reported per family, apart).
# The requests are built by bench/detection_eval.c (--emit), which also measures the detectors
# alone (bench/detection_eval.sh). Results go to stdout as Markdown; docs/detection.md quotes them.
#   bench/detection.sh [shared-dir] [--show N]   (--show: list N misses/false positives per class)
set -euo pipefail
shared="${1:-../shared}"
[[ $# -gt 0 ]] && shift
[[ -d "$shared" ]] && shared="$(cd "$shared" && pwd)"
cd "$(dirname "$0")/.."
if [[ ! -d "$shared/web-attacks" ]]; then
    echo "skip: $shared/web-attacks is absent; nothing to evaluate"
    exit 0
fi
make -j2 --no-print-directory all >/dev/null
mkdir -p build/bench
flags=(-std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -pthread -Isrc)
libs=(build/lib/libtld_engine.a build/lib/libtld_common.a $(pkg-config --libs libpcre2-8 libcjson) -lm)
cc "${flags[@]}" bench/detection_eval.c "${libs[@]}" -o build/bench/detection_eval
cc "${flags[@]}" bench/detection_rules.c "${libs[@]}" -o build/bench/detection_rules
python3 bench/gen_benign.py --count 6000 --seed 20240611 > build/bench/benign_urls.txt
python3 bench/gen_families.py --seed 20261207 > build/bench/families.tsv
build/bench/detection_eval --shared "$shared" --benign build/bench/benign_urls.txt \
    --families build/bench/families.tsv --emit build/bench/detection_lines.tsv >/dev/null

rulesets=("ours=ruleset")
if [[ -d "$shared/wazuh-ruleset" ]]; then
    rulesets+=("wazuh=$shared/wazuh-ruleset")
else
    echo "note: $shared/wazuh-ruleset is absent; our ruleset only"
fi
echo "## nginx access lines (plain file)"
build/bench/detection_rules --lines build/bench/detection_lines.tsv "$@" "${rulesets[@]}"
echo
echo "## the same lines inside Docker json-file logs, read with log_format syslog"
docker_sets=("ours=ruleset")
[[ -d "$shared/wazuh-ruleset" ]] &&
    docker_sets+=("wazuh+mission-decoder=$shared/wazuh-ruleset,tests/data/mission/local_decoder.xml")
build/bench/detection_rules --lines build/bench/detection_lines.tsv --docker-json "$@" \
    "${docker_sets[@]}"

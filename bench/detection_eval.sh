#!/usr/bin/env bash
# Build and run the web attack detection evaluation against the labelled payloads in
# <shared>/web-attacks (default ../shared) and a generated set of benign request URLs.
#   bench/detection_eval.sh [shared-dir] [detection_eval options: --show N, --show-half A|B|all]
# Builds the release libraries (make) and links the evaluation tool against build/lib.
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
cc -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -Isrc \
    bench/detection_eval.c build/lib/libtld_engine.a build/lib/libtld_common.a \
    -o build/bench/detection_eval
python3 bench/gen_benign.py --count 6000 --seed 20240611 > build/bench/benign_urls.txt
python3 bench/gen_families.py --seed 20261207 > build/bench/families.tsv
exec build/bench/detection_eval --shared "$shared" --benign build/bench/benign_urls.txt \
    --families build/bench/families.tsv "$@"

#!/usr/bin/env bash
# Build and run the web attack detection evaluation against the labelled payloads in
# <shared>/web-attacks (default ../shared) and a generated set of benign request URLs.
#   bench/detection_eval.sh [shared-dir] [extra detection_eval options...]
# Uses the release libraries in build/lib (run `make` first; this script runs it if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared}"
[[ $# -gt 0 ]] && shift
if [[ ! -d "$shared/web-attacks" ]]; then
    echo "skip: $shared/web-attacks is absent; nothing to evaluate"
    exit 0
fi
[[ -f build/lib/libtld_engine.a ]] || make -j2 >/dev/null
mkdir -p build/bench
cc -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -Isrc \
    bench/detection_eval.c build/lib/libtld_engine.a build/lib/libtld_common.a \
    -o build/bench/detection_eval
python3 bench/gen_benign.py --count 6000 --seed 20240611 > build/bench/benign_urls.txt
exec build/bench/detection_eval --shared "$shared" --benign build/bench/benign_urls.txt "$@"

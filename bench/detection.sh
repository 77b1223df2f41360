#!/usr/bin/env bash
# `make bench-detection`: the web attack detection evaluation (bench/detection_eval.sh).
exec "$(dirname "$0")/detection_eval.sh" "$@"

#!/usr/bin/env bash
# `make bench`: every benchmark script of the project, one after the other. A script is
# bench/<name>.sh other than this one, the detection scripts (`make bench-detection`) and the
# behaviour snapshot scripts (golden*.sh, which take a build and a folder); each prints its own
# figures. $1 is the shared data folder (../shared).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for s in bench/*.sh; do
    case "$(basename "$s")" in
    run.sh | detection*.sh | golden*.sh) continue ;;
    esac
    echo "=== $s"
    bash "$s" || status=1
done
exit $status

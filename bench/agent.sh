#!/usr/bin/env bash
# tld-agent benchmarks for `make bench`, printed as a Markdown table:
#   - lines/s from a file to the spool, 200-byte lines (bench/agent_collector.c), plain and
#     Docker json-file lines;
#   - idle CPU and RSS with 50 watched containers, and Docker event -> spool latency
#     (bench/agent_docker.py, on the tests' private Docker engine; skipped with a note when no
#     engine can run here).
# Uses the release build. Takes about a minute.
#   bench/agent.sh [--lines N]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=2000000
[[ "${1:-}" == "--lines" ]] && lines="$2"
make -j2 --no-print-directory all >/dev/null
mkdir -p build/bench
cc -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -pthread -Isrc \
    bench/agent_collector.c build/lib/libtld_collect.a build/lib/libtld_common.a \
    $(pkg-config --libs libcjson libcurl zlib) -lm -o build/bench/agent_collector

# median3 FORMAT: the run with the median lines/s of three ("name lines seconds lines/s MB/s").
median3() {
    for _ in 1 2 3; do
        build/bench/agent_collector --lines "$lines" --width 200 --format "$1"
    done | sort -k4,4n | sed -n 2p
}
read -r _ n1 s1 lps1 mbs1 < <(median3 syslog)
read -r _ n2 s2 lps2 mbs2 < <(median3 docker)

declare -A m=()
while read -r k v; do m[$k]="$v"; done < <(TLD_BUILD=build python3 bench/agent_docker.py idle)
while read -r k v; do m[$k]="$v"; done < <(TLD_BUILD=build python3 bench/agent_docker.py latency)

verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v == "") print "n/a"; else if ((op == ">=" && v >= t) || (op == "<" && v < t)) print "met"; else print "MISSED" }'; }

table() {
echo "| agent benchmark | result | target | |"
echo "|---|---|---|---|"
printf '| files -> spool, 200-byte lines (%s lines, %ss) | %s lines/s (%s MB/s) | >= 500000 lines/s | %s |\n' \
    "$n1" "$s1" "$lps1" "$mbs1" "$(verdict "$lps1" 500000 '>=')"
printf '| files -> spool, Docker json-file lines with 200-byte messages | %s lines/s (%s MB/s) | | |\n' \
    "$lps2" "$mbs2"
if [[ -n "${m[skip]:-}" ]]; then
    echo "| idle CPU / RSS, Docker event latency | not measured: ${m[skip]} | | |"
    return
fi
printf '| idle CPU, %s watched containers + listener | %s %% of a core | < 1 %% | %s |\n' \
    "${m[idle_containers]}" "${m[idle_cpu_percent]}" "$(verdict "${m[idle_cpu_percent]}" 1 '<')"
printf '| idle RSS, same | %s MB | < 15 MB | %s |\n' "${m[idle_rss_mb]}" "$(verdict "${m[idle_rss_mb]}" 15 '<')"
printf '| Docker event -> spool (visible to its consumer), p50 / p99 / max over %s events | %s / %s / %s ms | p99 < 50 ms | %s |\n' \
    "${m[latency_events]}" "${m[latency_output_p50_ms]}" "${m[latency_output_p99_ms]}" \
    "${m[latency_output_max_ms]}" "$(verdict "${m[latency_output_p99_ms]}" 50 '<')"
printf '| Docker event -> read by the listener, p50 / p99 | %s / %s ms | | |\n' \
    "${m[latency_read_p50_ms]}" "${m[latency_read_p99_ms]}"
}

out=$(table)
echo "$out"
{
    echo "\`bash bench/agent.sh\` (release build; part of \`make bench\`), $(date -u +%Y-%m-%d). Files to"
    echo "spool: the median of three runs of \`bench/agent_collector.c\` (one collector, one file of"
    echo "$lines lines, to the on-disk spool). Idle figures: 50 containers on the tests' private Docker"
    echo "engine, the agent watching their logs and the events stream, CPU and RSS over 20 s. Latency:"
    echo "containers created and removed every 100 ms, each Docker event's \`timeNano\` against the time"
    echo "its record was read back from the agent's output."
    echo
    echo "$out"
} | python3 bench/doc_section.py agent "Agent (tld-agent)"

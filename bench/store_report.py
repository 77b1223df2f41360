#!/usr/bin/env python3
"""Turn bench/store.sh's results (JSON lines from bench_store) into the store section of
docs/performance.md (through bench/doc_section.py), and print it.

Ingest rates are the median of the rate runs with [min-max]; query times are the median and p95
of the repetitions on the large store. Rates are per CPU second of the ingesting process (what
one core does) and by the wall clock; the machine is shared, so both are given.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (label, target in ms or None, which target)
QUERIES = {
    "events_page": ("first Events page (24 h, newest 50)", 150, "overview"),
    "count_24h": ("KPI: alerts in 24 h", 150, "overview"),
    "count_level12_24h": ("KPI: level >= 12 in 24 h", 150, "overview"),
    "count_authfail_24h": ("KPI: authentication failures in 24 h", 150, "overview"),
    "histogram_24h": ("level evolution: histogram 24 h (30-minute buckets)", 150, "overview"),
    "histogram_level12_24h": ("histogram of level >= 12, 24 h", 150, "overview"),
    "top_mitre_24h": ("top MITRE techniques, 24 h", 150, "overview"),
    "top_agents_24h": ("top agents, 24 h", 150, "overview"),
    "rule_31103": ("`rule.id:31103`, newest 50", 20, "rule"),
    "rule_87903": ("`rule.id:(87903)`, newest 50", 20, "rule"),
    "rule_31103_24h": ("`rule.id:31103` in 24 h, newest 50", 20, "rule"),
    "rule_5710_count_24h": ("`rule.id:5710`, count in 24 h", 20, "rule"),
    "contains_select": ("`full_log ~ \"select\"`, count (whole store)", 500, "contains"),
    "contains_select_24h": ("`full_log ~ \"select\"`, count in 24 h", 500, "contains"),
    "contains_union_select": ("`full_log ~ \"union select\"`, newest 50", 500, "contains"),
    "contains_passwd": ("`full_log ~ \"etc/passwd\"`, newest 50", 500, "contains"),
    "top_srcip_24h": ("top `data.srcip`, 24 h", None, ""),
    "srcip_prefix_count": ("`data.srcip:10.1.*`, count (whole store)", None, ""),
}


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"


def rng(vals, fmt="{:,.0f}"):
    return f"{fmt.format(statistics.median(vals))} [{fmt.format(min(vals))}–{fmt.format(max(vals))}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate-count", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--note", default="", help="a sentence added after the introduction")
    a = ap.parse_args()
    rate, large, queries = [], {}, {}
    for line in open(a.results):
        r = json.loads(line)
        if r["run"] == "rate" and "ingest_alerts" in r:
            rate.append(r)
        elif r["run"] == "large" and "query" in r:
            queries[r["query"]] = r
        elif r["run"] == "large":
            large.update(r)
    cpu_rates = [r["ingest_alerts"] / r["cpu_s"] for r in rate]
    wall_rates = [r["ingest_alerts"] / r["wall_s"] for r in rate]
    out = []
    w = out.append
    load = os.getloadavg()
    w(f"`bash bench/store.sh` (release build; part of `make bench`), "
      f"{datetime.date.today().isoformat()}, commit `{git_rev()}`; load average "
      f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} when the report was written (1 / 5 / 15 "
      "min), on the 2 shared cores. Alerts are generated from the engine's alerts on "
      "bench/gen_corpus.py's corpora (Docker events, web logs with attacks, authentication; the "
      "project's ruleset), each with its own time over 7 days, one of 50 agents, its own "
      "container replica and source address; batches of 10,000 alerts, every index, the "
      "trigram full-text index and the rollups in place." + (" " + a.note if a.note else ""))
    w("")
    w("| measure | result | target | |")
    w("|---|---|---|---|")
    if cpu_rates:
        med = statistics.median(cpu_rates)
        w(f"| ingest, alerts per CPU second (one core; {a.runs} runs of {a.rate_count:,} alerts) "
          f"| {rng(cpu_rates)} | >= 60,000 | {'met' if med >= 60000 else 'NOT MET'} |")
        w(f"| ingest, alerts per second by the wall clock (same runs) | {rng(wall_rates)} | | |")
    if "ingest_alerts" in large:
        n = large["ingest_alerts"]
        w(f"| ingest of the {n:,}-alert store, per CPU second / wall clock (1 run) | "
          f"{n / large['cpu_s']:,.0f} / {n / large['wall_s']:,.0f} | >= 60,000 | "
          f"{'met' if n / large['cpu_s'] >= 60000 else 'NOT MET'} |")
    if "stored_alerts" in large and large["stored_alerts"]:
        w(f"| disk per alert ({large['stored_alerts']:,} alerts, alerts.json line "
          f"{large.get('bytes_in', 0) / max(large.get('ingest_alerts', 1), 1):,.0f} B) | "
          f"{large['store_bytes'] / large['stored_alerts']:,.0f} bytes | | |")
        w(f"| peak RSS of the ingesting process (SQLite page cache included) | "
          f"{large['rss_kib'] / 1024:,.0f} MB | | |")
    for name, (label, target, _) in QUERIES.items():
        q = queries.get(name)
        if not q:
            continue
        verdict = ""
        if target is not None:
            verdict = "met" if q["p95_ms"] <= target and not q["error"] else "NOT MET"
        tgt = f"p95 <= {target} ms" if target else ""
        runs = f", {q['runs']} runs" if q.get("runs", a.reps) != a.reps else ""
        w(f"| {label} | median {q['median_ms']:,.1f} ms, p95 {q['p95_ms']:,.1f} ms "
          f"({q['results']:,} results{runs}) | {tgt} | {verdict} |")
    ov = [queries[n]["p95_ms"] for n, v in QUERIES.items() if v[2] == "overview" and n in queries]
    if ov:
        w(f"| the whole Threat Hunting overview above, one after the other (sum of p95) | "
          f"{sum(ov):,.1f} ms | | |")
    w("")
    w(f"Query times: {a.reps} runs of each query on the {a.count:,}-alert store, the first "
      "(cold) run included (a query slower than a few seconds stops after three runs); ranges end at the next whole minute after the newest alert, as a "
      "time picker gives them.")
    w("")
    w("```")
    w("bash bench/store.sh    # this benchmark alone (after make); its raw output is in "
      "build/bench/store-results.jsonl")
    w("TLD_STORE_BENCH_COUNT=1000000 TLD_STORE_BENCH_RUNS=1 bash bench/store.sh   # a quicker, "
      "smaller store")
    w("```")
    text = "\n".join(out)
    print(text)
    if not a.no_doc:
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "doc_section.py"), "store",
                        "Alert store (SQLite)"], input=text, text=True, check=True)


if __name__ == "__main__":
    main()

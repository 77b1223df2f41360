#!/usr/bin/env python3
"""The dashboard in a real browser over a large store (release build, loopback only).

1. A SQLite store: --db an existing one (opened read-only by tld-api, never written), or
   --alerts N made by bench_store as bench/api_bench.py makes its store.
2. tld-api alone on it, serving web/dist; a token from /security/user/authenticate.
3. bench/dashboard_bench.mjs in Chromium: --runs runs, each a new browser context on Threat
   Hunting's events over the last 24 hours of the store's alerts: first load cold (empty cache),
   warm (reload), query to painted table (the use cases' rule.id queries typed in the query
   bar), opening a document from the table.
4. The size of the JavaScript and CSS the browser downloads, gzipped (web/dist's .gz twins).

--doc writes the figures into docs/performance.md (section "Dashboard in the browser").
"""
import argparse
import base64
import glob
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import api_bench

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = {"cold": 1500, "warm": 300, "query_p95": 300, "doc_p95": 100, "assets_kib": 150}
QUERIES = [{"q": "rule.id:(87903)", "want": "87903"}, {"q": "rule.id:(31103)", "want": "31103"}]


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, -(-len(xs) * p // 100) - 1))]


def assets_gz_kib(dist):
    """JavaScript and CSS as served to a browser that accepts gzip."""
    files = glob.glob(os.path.join(dist, "assets", "*.js.gz")) + \
        glob.glob(os.path.join(dist, "assets", "*.css.gz"))
    assert files, f"no gzipped assets under {dist} (make web)"
    return sum(os.path.getsize(f) for f in files) / 1024


def start_api(build, root, port, db, web_root, log):
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    with open(os.path.join(root, "etc", "manager.conf"), "w") as f:
        f.write(f"<ossec_config><api><port>{port}</port><web_root>{web_root}</web_root></api>"
                f"<store><backend>sqlite</backend><path>{db}</path></store></ossec_config>\n")
    api = subprocess.Popen([os.path.join(build, "bin", "tld-api"), "-r", root, "-l", log],
                           stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (os.path.exists(os.path.join(root, "etc/api/admin.password")) and
               os.path.exists(os.path.join(root, "var/ca/ca.crt"))):
        assert time.time() < deadline and api.poll() is None, f"tld-api did not start ({log})"
        time.sleep(0.2)
    return api


def login(root, port):
    ctx = ssl.create_default_context(cafile=os.path.join(root, "var/ca/ca.crt"))
    pw = open(os.path.join(root, "etc/api/admin.password")).read().strip()
    deadline = time.time() + 30
    while True:
        try:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            c.request("POST", "/security/user/authenticate", headers={
                "Authorization": "Basic " + base64.b64encode(f"admin:{pw}".encode()).decode()})
            r = c.getresponse()
            break
        except OSError:
            assert time.time() < deadline, "tld-api does not answer"
            time.sleep(0.3)
    tok = json.loads(r.read())["data"]["token"]
    # Where the store's alerts end: the last bucket of the whole span's histogram that holds a
    # hundredth of the fullest one (a few alerts appended later, as api.sh's stream test does,
    # would otherwise leave the day before them nearly empty).
    c.request("GET", "/alerts/histogram", headers={"Authorization": f"Bearer {tok}"})
    data = json.loads(c.getresponse().read())["data"]
    c.close()
    buckets = data["affected_items"]
    assert buckets, "the store is empty"
    full = max(b["count"] for b in buckets)
    last = [b for b in buckets if b["count"] * 100 >= full][-1]
    return tok, last["timestamp"] + data["interval_ms"]


def summarize(runs, alerts, kib):
    def both(key, pick):
        return {k: pick([r[key][k] for r in runs]) for k in ("rows", "settled")}
    queries = [q for r in runs for q in r["queries"]]
    docs = [d for r in runs for d in r["docs"]]
    return {"alerts": alerts, "runs": len(runs), "first_cold": runs[0]["cold"],
            "cold": both("cold", statistics.median), "warm": both("warm", statistics.median),
            "query_p50": {k: pct([q[k] for q in queries], 50) for k in ("rows", "settled")},
            "query_p95": {k: pct([q[k] for q in queries], 95) for k in ("rows", "settled")},
            "queries": len(queries), "doc_p50": pct(docs, 50), "doc_p95": pct(docs, 95),
            "docs": len(docs), "assets_kib": kib, "hits": runs[-1]["hits"],
            "warm_calls": [f"{c['path']} {c['start']:.0f}+{c['ms']:.0f} ms" for c in runs[-1]["calls"]],
            "slowest_query_calls": max(queries, key=lambda q: q["rows"])["calls"],
            "errors": sorted({e for r in runs for e in r["errors"]})}


def verdict(value, target):
    return "met" if value <= target else "NOT MET"


def doc_text(s, load):
    rows = [("first load, cold (new browser context: empty cache; median of the runs)", s["cold"],
             "cold"),
            ("first load, warm (the page opened again in the same tab: assets cached; median)", s["warm"],
             "warm"),
            (f"query to painted table, p95 of {s['queries']}", s["query_p95"], "query_p95")]
    lines = ["## Dashboard in the browser", "",
             f"`bash bench/dashboard.sh` (release build; Debian's Chromium 1440×900 through "
             f"playwright-core; tld-api alone on a SQLite store of {s['alerts']:,} alerts; "
             f"Threat Hunting's events over the last 24 hours of the store's alerts, queried with "
             f"the use cases' `rule.id:(87903)` and `rule.id:(31103)`). {s['runs']} runs, each "
             f"in a new browser context; load average {load} when it ran, on the 2 shared "
             "cores. Times are the page's own clock, from the navigation or the click to the "
             "first animation frame that shows the table's new rows; the last column goes on to "
             "the first frame with no request in flight (the histogram and hit count drawn too).",
             "", "| measure | table painted | target | | everything drawn |",
             "|---|---|---|---|---|"]
    for name, value, key in rows:
        lines.append(f"| {name} | {value['rows']:,.0f} ms | ≤ {TARGETS[key]:,} ms | "
                     f"{verdict(value['rows'], TARGETS[key])} | {value['settled']:,.0f} ms |")
    lines.append(f"| opening a document, p95 of {s['docs']} | {s['doc_p95']:,.0f} ms | "
                 f"≤ {TARGETS['doc_p95']} ms | {verdict(s['doc_p95'], TARGETS['doc_p95'])} | |")
    lines.append(f"| JavaScript and CSS, gzipped | {s['assets_kib']:.1f} KiB | "
                 f"≤ {TARGETS['assets_kib']} KB | {verdict(s['assets_kib'], TARGETS['assets_kib'])} | |")
    fc = s["first_cold"]
    lines += ["", f"The very first load after tld-api started (its store's pages not yet in "
              f"memory): table {fc['rows']:,.0f} ms, everything {fc['settled']:,.0f} ms. Query to "
              f"painted table p50 {s['query_p50']['rows']:,.0f} ms (everything "
              f"{s['query_p50']['settled']:,.0f} ms); opening a document p50 "
              f"{s['doc_p50']:,.0f} ms. The warm load's requests (start+duration): "
              + ", ".join(f"`{c}`" for c in s["warm_calls"]) + f". The hits line read "
              f"`{s['hits']}`. Console errors: {len(s['errors'])}.", "",
              "```", "bash bench/dashboard.sh                       # a store of 1,000,000 "
              "alerts made for the run",
              "DASH_BENCH_DB=/path/alerts.db bash bench/dashboard.sh   # an existing store, "
              "read-only", "```", ""]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--db", help="an existing store (read-only)")
    ap.add_argument("--alerts", type=int, default=1000000, help="store size when --db is not given")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--doc", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    web_root = os.path.join(ROOT, "web", "dist")
    kib = assets_gz_kib(web_root)
    tmp = tempfile.mkdtemp(prefix="tld-dash-bench-")
    api = None
    try:
        if a.db:
            db = os.path.abspath(a.db)
            assert os.path.exists(db), f"{db}: no such store"
        else:
            db = os.path.join(tmp, "alerts.db")
            t0 = time.time()
            _, ingest = api_bench.make_store(build, db, a.alerts, tmp)
            print(f"store: {a.alerts} alerts made in {time.time() - t0:.0f} s ({ingest})")
        root = os.path.join(tmp, "root")
        port = api_bench.free_port()
        api = start_api(build, root, port, db, web_root, os.path.join(tmp, "api.log"))
        tok, end_ms = login(root, port)
        cfg = {"url": f"https://127.0.0.1:{port}/app/", "token": tok,
               "from": end_ms - 86400000, "to": end_ms, "queries": QUERIES,
               "runs": a.runs}
        env = dict(os.environ, TLD_DASH_BENCH=json.dumps(cfg))
        out = subprocess.run(["node", os.path.join(HERE, "dashboard_bench.mjs")], env=env,
                             stdout=subprocess.PIPE, timeout=1800, check=True).stdout
        runs = json.loads(out.decode().strip().splitlines()[-1])["runs"]
        alerts = a.alerts if not a.db else store_count(db)
        s = summarize(runs, alerts, kib)
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(json.dumps(s))
        text = doc_text(s, load)
        print(text)
        if a.doc:
            api_bench.write_doc("dashboard", "Dashboard in the browser", text)
        return 1 if s["errors"] else 0
    finally:
        api_bench.stop_api(api)
        shutil.rmtree(tmp, ignore_errors=True)


def store_count(db):
    """Alerts in an existing store (read-only)."""
    import sqlite3
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return c.execute("SELECT count(*) FROM alerts").fetchone()[0]
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())

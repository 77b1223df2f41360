#!/usr/bin/env python3
"""The alert routes of tld-api under load (release build, loopback only, bounded in time).

1. A SQLite store of --alerts alerts (bench_store: the mission's two alerts as templates, each
   copy with its own time over 7 days, agent and id).
2. tld-api on that store alone (no manager): --clients concurrent clients, each with its own
   TLS connection kept alive, send --requests requests each to /alerts (first page of 500),
   /alerts/histogram (auto interval, last 24 h) and /alerts/terms (rule.id); p50 and p95 per
   route.
3. Live streams: --streams clients hold /alerts/stream at once; the API's RSS is read before
   and while they are held; then store_append writes alerts one at a time (as the manager's
   feeder) and 20 of the held clients time each one from its commit to their receipt: p50, p99.

--doc writes the figures into docs/performance.md (section "API (tld-api)"). --store PATH keeps
the generated store there and reuses it on the next run (a 10M store takes long to make); the
stream part appends 100 alerts to it each run.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Client:
    def __init__(self, port, ctx, tok):
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
        self.h = {"Authorization": f"Bearer {tok}"}

    def get(self, path):
        t0 = time.perf_counter()
        self.c.request("GET", path, headers=self.h)
        r = self.c.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {body[:200]!r}")
        return dt


def make_store(build, db, count, tmp):
    tmpl = os.path.join(tmp, "templates.json")
    with open(tmpl, "w") as f:
        for name in ("alert-docker-start.json", "alert-sqli.json"):
            with open(os.path.join(ROOT, "tests/data/mission", name)) as t:
                f.write(json.dumps(json.load(t), separators=(",", ":")) + "\n")
    if os.path.exists(db):
        return tmpl, "reused"
    part = db + ".part"
    out = subprocess.run([os.path.join(build, "bench_store"), "--db", part, "--count", str(count),
                          tmpl], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=3600, check=True).stdout
    os.rename(part, db)  # closed, so its WAL is checkpointed: one file
    return tmpl, out.splitlines()[0]


def route_latency(port, ctx, tok, clients, requests, newest_ms):
    day = newest_ms - 86400000
    routes = {"/alerts": "/alerts?limit=500",
              "/alerts/histogram": f"/alerts/histogram?from={day}&to={newest_ms + 1}",
              "/alerts/terms": "/alerts/terms?field=rule.id&size=10"}
    figures = {}
    for name, path in routes.items():
        times, errors = [], []

        def work():
            try:
                c = Client(port, ctx, tok)
                for _ in range(requests):
                    times.append(c.get(path))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        ts = [threading.Thread(target=work) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise RuntimeError(errors[0])
        figures[name] = (pct(times, 50) * 1e3, pct(times, 95) * 1e3, len(times) / wall)
    return figures


class Stream:
    def __init__(self, port, ctx, tok):
        self.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                                 server_hostname="127.0.0.1")
        self.s.sendall(f"GET /alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Authorization: Bearer {tok}\r\n\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        assert self.buf.startswith(b"HTTP/1.1 200"), self.buf[:200]

    def latencies(self, n, deadline, out):
        """Receipt time minus bench_sent_ms for the next n alerts (chunk framing is skipped:
        an alert's data line is found whole in the byte stream)."""
        got = 0
        while got < n and time.time() < deadline:
            try:
                self.s.settimeout(max(0.1, deadline - time.time()))
                chunk = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not chunk:
                break
            self.buf += chunk
            while b"\ndata: " in self.buf:
                start = self.buf.index(b"\ndata: ") + 7
                end = self.buf.find(b"\n", start)
                if end < 0:
                    break
                now = time.time() * 1000
                line = self.buf[start:end]
                self.buf = self.buf[end:]
                try:
                    sent = json.loads(line)["bench_sent_ms"]
                except (ValueError, KeyError):
                    continue
                out.append(now - sent)
                got += 1

    def close(self):
        self.s.close()


def streams_bench(port, ctx, tok, api_pid, build, db, tmpl, nstreams):
    rss0 = rss_kib(api_pid)
    held = []
    t0 = time.perf_counter()
    for _ in range(nstreams):
        held.append(Stream(port, ctx, tok))
    open_s = time.perf_counter() - t0
    time.sleep(1)
    rss1 = rss_kib(api_pid)
    # A normal request while they are held.
    t1 = time.perf_counter()
    Client(port, ctx, tok).get("/alerts?limit=1")
    normal_ms = (time.perf_counter() - t1) * 1e3
    count = 100
    lat = []
    timed = held[:20]
    app = subprocess.Popen([os.path.join(build, "store_append"), "--db", db, "--count",
                            str(count), "--interval-ms", "50", tmpl])
    ths = [threading.Thread(target=s.latencies, args=(count, time.time() + 60, lat))
           for s in timed]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    app.wait(60)
    for s in held:
        s.close()
    return {"streams": nstreams, "open_s": open_s, "rss0": rss0, "rss1": rss1,
            "per_stream_kib": (rss1 - rss0) / max(1, nstreams), "normal_ms": normal_ms,
            "samples": len(lat), "expected": count * len(timed),
            "p50": pct(lat, 50) if lat else None, "p99": pct(lat, 99) if lat else None}


def stop_api(api):
    """Ends a tld-api this bench started (SIGTERM, then SIGKILL after 30 s); None is nothing."""
    if api and api.poll() is None:
        api.terminate()
        try:
            api.wait(30)
        except subprocess.TimeoutExpired:
            api.kill()


def write_doc(name, title, text):
    """Puts `text` (its "## " heading line dropped) into docs/performance.md as the section
    NAME, through bench/doc_section.py: the engine report that rewrites the document keeps it."""
    body = text.split("\n", 1)[1] if text.startswith("## ") else text
    subprocess.run([sys.executable, os.path.join(HERE, "doc_section.py"), name, title],
                   input=body.encode(), check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--alerts", type=int, default=1000000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--doc", action="store_true")
    ap.add_argument("--store", help="the SQLite store to make once and reuse")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tmp = tempfile.mkdtemp(prefix="tld-api-bench-")
    api = None
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        os.makedirs(os.path.join(root, "var", "db"))
        db = os.path.abspath(a.store) if a.store else os.path.join(root, "var", "db", "alerts.db")
        t0 = time.time()
        tmpl, ingest = make_store(build, db, a.alerts, tmp)
        print(f"store: {a.alerts} alerts made in {time.time() - t0:.0f} s ({ingest})")
        load = os.getloadavg()
        port = free_port()
        conns = a.streams * 4 + 256  # one address may hold a quarter of <max_connections>
        with open(os.path.join(root, "etc", "manager.conf"), "w") as f:
            f.write(f"<ossec_config><api><port>{port}</port>"
                    f"<max_connections>{min(conns, 65536)}</max_connections>"
                    f"<max_streams>{a.streams + 10}</max_streams>"
                    # The routes are measured here, not the per-user request limit.
                    "<max_request_per_minute>0</max_request_per_minute></api>"
                    f"<store><backend>sqlite</backend><path>{db}</path></store>"
                    "</ossec_config>\n")
        api = subprocess.Popen([os.path.join(build, "bin", "tld-api"), "-r", root, "-l",
                                os.path.join(tmp, "api.log")], stdout=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(root, "etc/api/admin.password")) or \
                not os.path.exists(os.path.join(root, "var/ca/ca.crt")):
            assert time.time() < deadline and api.poll() is None, "tld-api did not start"
            time.sleep(0.2)
        time.sleep(0.5)
        ctx = ssl.create_default_context(cafile=os.path.join(root, "var/ca/ca.crt"))
        pw = open(os.path.join(root, "etc/api/admin.password")).read().strip()
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
        c.request("POST", "/security/user/authenticate", headers={
            "Authorization": "Basic " + base64.b64encode(f"admin:{pw}".encode()).decode()})
        tok = json.loads(c.getresponse().read())["data"]["token"]
        # The generated alerts span bench_store's 7 days from the oldest; the ones earlier runs
        # appended (stamped with their time) are left out of the histogram's last day.
        c.request("GET", "/alerts?limit=1&sort=%2Btimestamp",
                  headers={"Authorization": f"Bearer {tok}"})
        oldest = json.loads(c.getresponse().read())["data"]["affected_items"][0]["timestamp"]
        c.close()
        newest_ms = (int(time.mktime(time.strptime(oldest[:19], "%Y-%m-%dT%H:%M:%S"))
                         - time.timezone) + 7 * 86400) * 1000
        rss_idle = rss_kib(api.pid)
        figs = route_latency(port, ctx, tok, a.clients, a.requests, newest_ms)
        rss_routes = rss_kib(api.pid)
        st = streams_bench(port, ctx, tok, api.pid, build, db, tmpl, a.streams)
        lines = [f"## API (tld-api)", "",
                 f"`bench/api.sh` (release build, 2 cores shared): a SQLite store of "
                 f"{a.alerts:,} alerts; tld-api alone on it. {a.clients} concurrent clients, "
                 f"{a.requests} requests each per route, one kept-alive TLS connection each. "
                 f"Load average when the runs began: {load[0]:.1f} (1 min), {load[1]:.1f} "
                 f"(5 min).", "",
                 "| route | p50 ms | p95 ms | requests/s |", "|---|---|---|---|"]
        for name, (p50, p95, rps) in figs.items():
            lines.append(f"| `{name}` | {p50:.1f} | {p95:.1f} | {rps:.1f} |")
        lines += ["", f"API RSS: {rss_idle / 1024:.0f} MiB idle, {rss_routes / 1024:.0f} MiB "
                  f"after the route runs.", "",
                  f"Live streams: {st['streams']} `/alerts/stream` clients held at once "
                  f"(opened in {st['open_s']:.1f} s); API RSS {st['rss0'] / 1024:.0f} MiB "
                  f"before, {st['rss1'] / 1024:.0f} MiB with them held "
                  f"({st['per_stream_kib']:.0f} KiB per stream: socket, TLS session, buffer); "
                  f"a normal `/alerts?limit=1` meanwhile took {st['normal_ms']:.0f} ms. "
                  f"Alert-to-client latency (from the store commit to 20 of the held clients, "
                  f"100 alerts 50 ms apart; {st['samples']} of {st['expected']} received): "
                  + (f"p50 {st['p50']:.0f} ms, p99 {st['p99']:.0f} ms (target p99 < 500 ms)."
                     if st["p50"] is not None else "none received."), ""]
        text = "\n".join(lines) + "\n"
        print(text)
        if a.doc:
            write_doc("api", "API (tld-api)", text)
        return 0
    finally:
        stop_api(api)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

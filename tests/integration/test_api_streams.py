"""tld-api's streamed alert routes against the store a manager fills (no dockerd): the manager
follows a syslog file and a JSON file. `/alerts/export.csv` has as many rows as `/alerts` counts,
whatever the count, quotes cells per RFC 4180, defuses formula cells, and keeps the API's memory
flat while a much larger export streams. `/alerts/stream` (Server-Sent Events) delivers an alert
stored while the client listens, resumes with Last-Event-ID with no gap and no duplicate, and
stays within <max_streams>."""
import csv
import io
import json
import os
import socket
import time
import urllib.parse

import pytest

from agentlib import wait_until
from apilib import make_manager_and_api
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from writers import EventWriter

RULES = """<group name="apitest,">
  <rule id="100300" level="3">
    <match>api-event</match>
    <description>api test event</description>
  </rule>
  <rule id="100302" level="4">
    <decoded_as>json</decoded_as>
    <field name="csvtest">yes</field>
    <description>csv test event</description>
  </rule>
</group>
"""
FIRST = 3000
# Cells a CSV reader must get back as they are (quotes, commas, line breaks), and cells a
# spreadsheet would run as formulas (they get a leading apostrophe).
TRICKY = [
    {"csvtest": "yes", "msg": 'comma, "quoted" and\nsecond line', "cmd": "=1+2"},
    {"csvtest": "yes", "msg": "plain", "cmd": "+SUM(A1)"},
    {"csvtest": "yes", "msg": "\r\nleading break", "cmd": "-2"},
    {"csvtest": "yes", "msg": "tab", "cmd": "@cmd|' /C calc'!A0"},
    {"csvtest": "yes", "msg": "x", "cmd": "\t=tabbed"},
]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


class Fed:
    def __init__(self, m, api, src, jsonf):
        self.m, self.api, self.src, self.jsonf = m, api, src, jsonf
        self.tok = None

    def alerts(self):
        try:
            data = open(self.m.alerts_path, "rb").read()
        except OSError:
            return []
        return data[:data.rfind(b"\n") + 1].splitlines()

    def write_events(self, prefix, n, rate=4000):
        w = EventWriter(self.src, prefix, n, rate)
        w.start()
        w.join(timeout=300)
        assert w.written == n

    def wait_stored(self, total, timeout=300):
        def caught_up():
            st = (self.m.stats() or {}).get("store", {})
            return st.get("open") and st.get("stored", 0) >= total
        wait_until(caught_up, timeout, interval=0.5, what=f"{total} alerts stored")

    def total(self, q=None):
        st, doc = self.api.json("GET", "/alerts", token=self.tok,
                                params={"limit": "1", **({"q": q} if q else {})})
        assert st == 200, doc
        return doc["data"]["total_affected_items"]

    def export(self, **params):
        st, hdr, body = self.api.request("GET", "/alerts/export.csv", token=self.tok,
                                         params=params or None)
        return st, hdr, body


@pytest.fixture
def fed(manager_factory, tmp_path, monkeypatch):  # noqa: F811
    # Freed memory is reused at once, so the API's RSS shows what it holds (ASan's quarantine
    # would otherwise keep every freed byte of a long export).
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS",
                       (opts + ":" if opts else "") + "quarantine_size_mb=1:"
                       "thread_local_quarantine_size_kb=64")
    rs = minimal_ruleset(str(tmp_path / "rs"), RULES)
    src, jsonf = str(tmp_path / "events.log"), str(tmp_path / "events.json")
    open(src, "w").close()
    open(jsonf, "w").close()
    extra = (f"<localfile><log_format>syslog</log_format><location>{src}</location></localfile>"
             f"<localfile><log_format>json</log_format><location>{jsonf}</location></localfile>"
             "<store><backend>sqlite</backend><path>var/db/alerts.db</path></store>")
    m, api = make_manager_and_api(manager_factory, ruleset_src=rs, logall_json=False,
                                  local=True, extra=extra,
                                  api_extra="<max_streams>3</max_streams>")
    m.start()
    f = Fed(m, api, src, jsonf)
    f.write_events(b"api-event", FIRST)
    f.wait_stored(FIRST)
    # Written once the manager follows both files (it reads a file from its end at first).
    with open(jsonf, "ab") as out:
        for ev in TRICKY:
            out.write(json.dumps(ev).encode() + b"\n")
    f.wait_stored(FIRST + len(TRICKY))
    api.start()
    f.tok = api.login()
    yield f
    api.stop()
    m.stop()


def parse_csv(body):
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


def test_export_rows_equal_total(fed):
    st, hdr, body = fed.export()
    assert st == 200, body
    assert hdr["content-type"].startswith("text/csv")
    assert hdr["content-disposition"] == 'attachment; filename="alerts.csv"'
    assert hdr.get("transfer-encoding") == "chunked"
    head, rows = parse_csv(body)
    assert head == ["timestamp", "id", "agent.id", "agent.name", "agent.ip", "rule.id",
                    "rule.level", "rule.description", "rule.groups", "location"]
    total = fed.total()
    assert total == FIRST + len(TRICKY) and len(rows) == total
    assert len({r[1] for r in rows}) == total, "every alert once"
    by_id = {json.loads(line)["id"]: json.loads(line) for line in fed.alerts()}
    for r in rows:
        a = by_id[r[1]]
        assert r[0] == a["timestamp"] and r[5] == a["rule"]["id"]
        assert r[6] == str(a["rule"]["level"]) and r[8] == ",".join(a["rule"]["groups"])
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    # A query, a time range and both orders.
    st, _, body = fed.export(q="rule.id:100300", sort="+timestamp", fields="id,rule.id")
    head, rows = parse_csv(body)
    assert head == ["id", "rule.id"] and len(rows) == fed.total("rule.id:100300") == FIRST
    assert {r[1] for r in rows} == {"100300"}
    # Errors come before the stream starts, as JSON.
    st, _, body = fed.export(q="rule.id:(1")
    assert st == 400 and json.loads(body)["detail"].startswith("q: at offset")
    assert fed.export(fields="rule.id,(SELECT 1)")[0] == 400
    assert fed.export(fields="")[0] == 400


def test_export_quoting_and_formulas(fed):
    st, _, body = fed.export(q="rule.id:100302", fields="data.msg,data.cmd,data.csvtest",
                             sort="+timestamp")
    assert st == 200
    assert b"\r\n" in body and body.endswith(b"\r\n")
    head, rows = parse_csv(body)
    assert head == ["data.msg", "data.cmd", "data.csvtest"]
    got = sorted(rows)
    want = []
    for ev in TRICKY:
        msg = ev["msg"]
        cmd = ev["cmd"]
        if msg[0] in "=+-@\t\r":
            msg = "'" + msg
        if cmd[0] in "=+-@\t\r":
            cmd = "'" + cmd
        want.append([msg, cmd, "yes"])
    assert got == sorted(want)
    # The raw bytes: a quote is doubled inside a quoted cell, a line break stays inside one.
    assert b'"comma, ""quoted"" and\nsecond line"' in body
    assert b"\"'\r\nleading break\"" in body
    assert b"'=1+2" in body and b"'+SUM(A1)" in body


def test_export_memory_stays_flat(fed):
    """Anonymous RSS while exporting the store, then while exporting one ten times larger:
    the growth stays within the reader's SQLite page cache (16 MiB) and allocator noise, though
    the second export is over 100 MiB. (File-backed pages are left out: they are the kernel's
    cache of the database file, shared and reclaimable.)"""
    long_field = "data.msg,full_log,rule.description,id"

    def export_rss():
        c = fed.api.connect(timeout=120)
        c.request("GET", "/alerts/export.csv?fields=" + long_field + ",full_log,full_log",
                  headers={"Authorization": f"Bearer {fed.tok}"})
        r = c.getresponse()
        assert r.status == 200
        peak, size = 0, 0
        while True:
            chunk = r.read(256 << 10)
            if not chunk:
                break
            size += len(chunk)
            peak = max(peak, rss_kib(fed.api.proc.pid))
            time.sleep(0.002)  # a slower reader: the server must not buffer ahead
        c.close()
        return peak, size

    export_rss()  # warm: TLS, store pages, allocator arenas
    small_peak, small_size = export_rss()
    more = 27000
    fed.write_events(b"api-event " + b"x" * 1500, more, rate=20000)
    fed.wait_stored(FIRST + len(TRICKY) + more, timeout=600)
    big_peak, big_size = export_rss()
    assert big_size > 50 * small_size and big_size > 100 << 20, (small_size, big_size, rows)
    print(f"export.csv: {small_size >> 10} KiB peak RSS {small_peak} KiB; "
          f"{big_size >> 10} KiB peak RSS {big_peak} KiB")
    assert big_peak - small_peak < 24 << 10, (small_peak, big_peak, big_size)
    # And it does not creep: repeated, the export settles where the earlier ones peaked. (The
    # first repeat may run on another server thread, whose malloc arena then holds a page cache
    # of its own once: so the second repeat is compared with everything before it.)
    again_peak, again_size = export_rss()
    last_peak, last_size = export_rss()
    assert again_size == big_size == last_size
    assert last_peak - max(big_peak, again_peak) < 4 << 10, (big_peak, again_peak, last_peak)


class Sse:
    """A Server-Sent Events client of /alerts/stream: events as (id, event, data) tuples and
    comment lines as ("comment", text)."""

    def __init__(self, fed, params=None, last_event_id=None, timeout=30):
        self.c = fed.api.connect(timeout=timeout)
        h = {"Authorization": f"Bearer {fed.tok}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        path = "/alerts/stream"
        if params:
            path += "?" + "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in params.items())
        self.c.request("GET", path, headers=h)
        self.r = self.c.getresponse()
        self.status = self.r.status
        self.buf = b""

    def next(self, deadline):
        """The next event or comment, or None at the deadline (time.monotonic())."""
        while True:
            if b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                fields = {}
                for line in block.split(b"\n"):
                    if line.startswith(b":"):
                        return ("comment", line[1:].strip().decode())
                    k, _, v = line.partition(b": ")
                    fields[k.decode()] = v
                if "data" in fields:
                    return (int(fields["id"]), fields["event"].decode(), fields["data"])
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.c.sock.settimeout(left)
            try:
                chunk = self.r.read1(65536)
            except (TimeoutError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def events(self, n, timeout):
        """Up to n alert events, waiting at most timeout seconds in all."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            e = self.next(deadline)
            if e is None:
                break
            if e[0] != "comment":
                out.append(e)
        return out

    def close(self):
        self.c.close()


def numbered(data):
    """The event number in an api-event alert's full_log."""
    return int(json.loads(data)["full_log"].split()[-1])


def test_stream_live_and_resume(fed):
    q = {"q": "rule.id:100300"}
    s = Sse(fed, q)
    assert s.status == 200 and s.r.getheader("Content-Type") == "text/event-stream"
    # Alerts stored while the client listens arrive, with their alerts.json lines as data; an
    # alert the query does not match does not.
    t0 = time.monotonic()
    with open(fed.jsonf, "ab") as out:
        out.write(json.dumps({"csvtest": "yes", "msg": "not for the stream"}).encode() + b"\n")
    fed.write_events(b"api-event", 5, rate=50)
    got = s.events(5, 60)
    latency = time.monotonic() - t0
    assert [numbered(d) for _, _, d in got] == [1, 2, 3, 4, 5], got
    assert all(ev == "alert" for _, ev, _ in got)
    lines = set(fed.alerts())
    assert all(d in lines for _, _, d in got), "data is the alerts.json line"
    ids = [i for i, _, _ in got]
    assert ids == sorted(ids) and len(set(ids)) == 5
    print(f"stream: 5 alerts from the event file to the client in {latency:.2f} s "
          "(collection, analysis, store, stream)")
    # Disconnect; alerts come while no one listens; reconnect with Last-Event-ID: exactly
    # the missed ones, once each, in order.
    s.close()
    fed.write_events(b"api-event", 40, rate=400)
    fed.wait_stored(FIRST + len(TRICKY) + 1 + 5 + 40)
    s = Sse(fed, q, last_event_id=ids[-1])
    missed = s.events(41, 20)
    assert [numbered(d) for _, _, d in missed] == list(range(1, 41)), missed
    assert missed[0][0] > ids[-1]
    # The same through the parameter, from the middle, with a narrower query.
    s.close()
    s = Sse(fed, {"q": "rule.id:100300 and full_log:*0000020*", "last_event_id":
                  str(missed[9][0])})
    again = s.events(2, 10)
    assert [numbered(d) for _, _, d in again] == [20], again
    s.close()
    # Bad requests are refused before the stream starts.
    st, _, body = fed.api.request("GET", "/alerts/stream", token=fed.tok,
                                  headers={"Last-Event-ID": "1 OR 1=1"})
    assert st == 400
    st, _, body = fed.api.request("GET", "/alerts/stream", token=fed.tok,
                                  params={"q": "rule.id:(1"})
    assert st == 400


def test_stream_limit_and_heartbeat(fed):
    held = [Sse(fed) for _ in range(3)]  # <max_streams>3</max_streams>
    assert all(s.status == 200 for s in held)
    st, hdr, body = fed.api.request("GET", "/alerts/stream", token=fed.tok)
    assert st == 503 and hdr.get("retry-after") == "5", body
    # Other requests go on while the streams are held.
    assert fed.api.request("GET", "/", token=fed.tok)[0] == 200
    # A quiet stream gets a comment every 15 s (which also finds closed connections).
    deadline = time.monotonic() + 25
    seen = None
    while seen is None:
        e = held[0].next(deadline)
        assert e is not None, "no heartbeat within 25 s"
        if e == ("comment", "keep-alive"):
            seen = time.monotonic()
    # A client that left frees its place by the next heartbeat at the latest.
    held.pop().close()

    def admitted():
        st, _, _ = fed.api.request("GET", "/", token=fed.tok)
        s = Sse(fed, timeout=5)
        if s.status == 200:
            held.append(s)
            return True
        s.close()
        return False
    wait_until(admitted, 40, interval=1, what="a stream slot freed")
    # The API stops cleanly (exit 0, no sanitizer report) with streams held, and soon.
    t0 = time.monotonic()
    fed.api.stop()
    assert time.monotonic() - t0 < 10
    for s in held:
        s.close()


def scrape(fed):
    st, hdr, body = fed.api.request("GET", "/metrics", token=fed.tok)
    assert st == 200 and hdr["content-type"].startswith("text/plain; version=0.0.4"), body
    samples, types = {}, {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
        elif line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples, types


def test_metrics(fed):
    assert fed.api.request("GET", "/metrics")[0] == 401
    s1, types = scrape(fed)
    assert types["tld_events_total"] == "counter" and types["tld_alerts_total"] == "counter"
    assert types["tld_api_request_duration_seconds"] == "histogram"
    assert s1["tld_manager_stats_available"] == 1
    assert s1["tld_alerts_total"] == FIRST + len(TRICKY)
    assert s1["tld_events_total"] >= FIRST + len(TRICKY)
    assert s1["tld_agents_connected"] == 0
    assert s1["tld_store_behind_alerts"] == 0 and s1["tld_analysis_queued"] == 0
    assert s1['tld_manager_stat{section="store",name="stored"}'] == FIRST + len(TRICKY)
    assert s1["tld_api_streams"] == 0
    # The API counts its own requests per route, with a latency histogram.
    lbl = 'method="GET",route="/alerts"'
    before = s1.get(f'tld_api_requests_total{{{lbl},code="2xx"}}', 0)
    for _ in range(3):
        assert fed.total() == FIRST + len(TRICKY)
    assert fed.api.request("GET", "/alerts", token=fed.tok, params={"limit": "0"})[0] == 400
    held = Sse(fed)
    fed.write_events(b"api-event", 10, rate=100)
    time.sleep(1.2)
    s2, _ = scrape(fed)
    assert s2[f'tld_api_requests_total{{{lbl},code="2xx"}}'] == before + 3
    assert s2[f'tld_api_requests_total{{{lbl},code="4xx"}}'] >= 1
    count = s2[f"tld_api_request_duration_seconds_count{{{lbl}}}"]
    assert count >= before + 4
    assert s2[f'tld_api_request_duration_seconds_bucket{{{lbl},le="+Inf"}}'] == count
    assert s2[f"tld_api_request_duration_seconds_sum{{{lbl}}}"] > 0
    assert s2["tld_api_streams"] == 1 and s2["tld_api_streams_opened_total"] >= 1
    assert "tld_events_per_second" in s2 and s2["tld_events_per_second"] >= 0
    assert s2["tld_events_total"] >= s1["tld_events_total"]
    held.close()

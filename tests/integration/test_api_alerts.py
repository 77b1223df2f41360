"""tld-api's alert routes against the store the manager fills (no dockerd): the manager follows a
syslog file and a Docker-event file, the API reads the SQLite store read-only beside it. Checks:
`/alerts` returns the alerts.json lines (byte for byte without `select`), sorted both ways,
paged by cursor with no gap and no repeat, with field selection and offsets; `/alerts/{id}` is
the alerts.json line itself; histogram and top values agree with alerts.json; the mission's
`rule.id:(87903)` alert comes back; SQL in q, sort, select and field names fails cleanly and
changes nothing."""
import collections
import json
import os

import pytest

from agentlib import wait_until
from apilib import make_manager_and_api
from mgrlib import manager_factory, minimal_ruleset  # noqa: F401
from test_manager_store import caught_up as store_caught_up
from writers import EventWriter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
TOTAL = 300

RULES = """<group name="apitest,">
  <rule id="100300" level="3">
    <match>api-event</match>
    <description>api test event</description>
  </rule>
  <rule id="100301" level="5">
    <if_sid>100300</if_sid>
    <match>0$</match>
    <description>api test event, ones</description>
  </rule>
</group>
"""


@pytest.fixture
def fed(manager_factory, tmp_path):  # noqa: F811
    """A manager with TOTAL syslog alerts and the mission's Docker alert stored, and its API."""
    rs = minimal_ruleset(str(tmp_path / "rs"), RULES)
    with open(os.path.join(REPO, "ruleset/rules/0560-docker_rules.xml")) as f:
        docker_rules = f.read().replace("<source>docker</source>", "")
    with open(os.path.join(rs, "rules", "0560-docker_rules.xml"), "w") as f:
        f.write(docker_rules)
    src, docker = str(tmp_path / "events.log"), str(tmp_path / "docker.json")
    open(src, "w").close()
    open(docker, "w").close()
    extra = (f"<localfile><log_format>syslog</log_format><location>{src}</location></localfile>"
             f"<localfile><log_format>json</log_format><location>{docker}</location></localfile>"
             "<store><backend>sqlite</backend><path>var/db/alerts.db</path></store>")
    m, api = make_manager_and_api(manager_factory, ruleset_src=rs, logall_json=False,
                                  local=True, extra=extra)
    m.start()
    mission = open(os.path.join(REPO, "tests/data/mission/input-docker-event-start.json"),
                   "rb").read().strip()
    with open(docker, "ab") as f:
        f.write(mission + b"\n")
    w = EventWriter(src, b"api-event", TOTAL, 2000)
    w.start()
    w.join(timeout=120)
    assert w.written == TOTAL

    # The store's position at the end of alerts.json, not only a lag of zero (which may be a
    # round old: test_manager_store.caught_up).
    wait_until(lambda: store_caught_up(m, TOTAL + 1), 180, interval=0.5,
               what="the store caught up")
    api.start()
    yield m, api, api.login()
    api.stop()
    m.stop()


def alert_lines(m):
    try:
        data = open(m.alerts_path, "rb").read()
    except OSError:
        return []
    return data[:data.rfind(b"\n") + 1].splitlines()


def raw_items(body):
    """The affected_items of an /alerts body as the exact bytes of each item."""
    doc = json.loads(body)
    items = doc["data"]["affected_items"]
    # Without select, the items are the stored lines: re-serialise nothing, cut the bytes.
    start = body.index(b'"affected_items":[') + len(b'"affected_items":[')
    dec = json.JSONDecoder()
    text = body.decode()
    pos, out = len(body[:start].decode()), []
    for _ in items:
        _, end = dec.raw_decode(text, pos)
        out.append(text[pos:end].encode())
        pos = end + 1
    return doc, out


def get(api, tok, path, **params):
    st, _, body = api.request("GET", path, token=tok, params=params or None)
    return st, body


def test_search_pages_and_bytes(fed):
    m, api, tok = fed
    lines = alert_lines(m)
    st, body = get(api, tok, "/alerts", limit=str(TOTAL + 10))
    assert st == 200, body
    doc, items = raw_items(body)
    assert doc["error"] == 0 and doc["data"]["total_affected_items"] == TOTAL + 1
    assert doc["data"]["total_failed_items"] == 0 and doc["data"]["failed_items"] == []
    assert sorted(items) == sorted(lines), "the items are the alerts.json lines, byte for byte"
    newest = [json.loads(i)["timestamp"] for i in items]
    assert newest == sorted(newest, reverse=True)
    # Ascending, and cursor pages of 7: every alert once, in order.
    seen, after = [], None
    while True:
        params = {"limit": "7", "sort": "+timestamp"}
        if after:
            params["after"] = after
        st, body = get(api, tok, "/alerts", **params)
        assert st == 200, body
        doc, page = raw_items(body)
        seen += page
        after = doc["data"]["next_cursor"]
        if not after:
            break
    assert len(seen) == len(set(seen)) == TOTAL + 1
    assert sorted(seen) == sorted(lines)
    ts = [json.loads(i)["timestamp"] for i in seen]
    assert ts == sorted(ts)
    # offset skips within the order.
    st, body = get(api, tok, "/alerts", limit="5", offset="3", sort="+timestamp")
    assert raw_items(body)[1] == seen[3:8]


def test_query_select_and_one_alert(fed):
    m, api, tok = fed
    lines = alert_lines(m)
    mission = [l for l in lines if json.loads(l)["rule"]["id"] == "87903"]
    assert len(mission) == 1
    st, body = get(api, tok, "/alerts", q="rule.id:(87903)")
    doc, items = raw_items(body)
    assert st == 200 and items == mission and doc["data"]["total_affected_items"] == 1
    # /alerts/{id}: the body is the alerts.json line itself.
    aid = json.loads(mission[0])["id"]
    st, hdr, body = api.request("GET", f"/alerts/{aid}", token=tok)
    assert st == 200 and body == mission[0] and hdr["content-type"] == "application/json"
    assert api.request("GET", "/alerts/1.999999999", token=tok)[0] == 404
    assert api.request("GET", "/alerts/1;2", token=tok)[0] == 400
    # select keeps only the named fields (dotted paths, nested as in the alert).
    st, body = get(api, tok, "/alerts", q="rule.id:100301", select="rule.id,agent.name",
                   limit="1000")
    doc = json.loads(body)
    want = sum(1 for l in lines if json.loads(l)["rule"]["id"] == "100301")
    assert want > 0 and doc["data"]["total_affected_items"] == want
    for it in doc["data"]["affected_items"]:
        assert set(it) <= {"rule", "agent"} and it["rule"] == {"id": "100301"}
    st, body = get(api, tok, "/alerts",
                   select="data.docker.Actor.Attributes.image,rule.level", q="rule.id:87903")
    it = json.loads(body)["data"]["affected_items"][0]
    full = json.loads(mission[0])
    assert it == {"data": {"docker": {"Actor": {"Attributes": {
        "image": full["data"]["docker"]["Actor"]["Attributes"]["image"]}}}},
        "rule": {"level": full["rule"]["level"]}}
    # A bad query says where.
    st, body = get(api, tok, "/alerts", q="rule.id:(1 or 2")
    doc = json.loads(body)
    assert st == 400 and doc["detail"].startswith("q: at offset 15:")


def test_histogram_and_terms(fed):
    m, api, tok = fed
    lines = [json.loads(l) for l in alert_lines(m)]
    st, body = get(api, tok, "/alerts/histogram", interval="1m")
    doc = json.loads(body)
    assert st == 200 and doc["data"]["interval_ms"] == 60000
    assert sum(b["count"] for b in doc["data"]["affected_items"]) == len(lines)
    st, body = get(api, tok, "/alerts/terms", field="rule.id", size="10")
    doc = json.loads(body)
    want = collections.Counter(a["rule"]["id"] for a in lines)
    assert {t["value"]: t["count"] for t in doc["data"]["affected_items"]} == dict(want)
    st, body = get(api, tok, "/alerts/terms", field="rule.groups", q="rule.id:87903")
    groups = {t["value"] for t in json.loads(body)["data"]["affected_items"]}
    assert "docker" in groups
    assert get(api, tok, "/alerts/terms")[0] == 400


def total(api, tok, **params):
    st, body = get(api, tok, "/alerts", **params)
    assert st == 200, body
    data = json.loads(body)["data"]
    return data["total_affected_items"], data["total_is_lower_bound"], data["next_cursor"]


def test_total_is_bounded(fed):
    """total_affected_items is exact up to track_total_hits (default 10,000), then the bound with
    total_is_lower_bound set; the same on a first page, a cursor page, a query the rollups
    answer and one that reads the alerts (full text)."""
    m, api, tok = fed
    lines = [json.loads(l) for l in alert_lines(m)]
    assert len(lines) == TOTAL + 1
    assert total(api, tok, limit="5")[:2] == (TOTAL + 1, False)
    n, lower, after = total(api, tok, limit="5", track_total_hits="100")
    assert (n, lower) == (100, True) and after
    assert total(api, tok, limit="5", after=after, track_total_hits="100")[:2] == (100, True)
    assert total(api, tok, limit="5", after=after)[:2] == (TOTAL + 1, False)
    assert total(api, tok, limit="5", track_total_hits=str(TOTAL + 1))[:2] == (TOTAL + 1, False)
    assert total(api, tok, limit="5", track_total_hits=str(TOTAL))[:2] == (TOTAL, True)
    assert total(api, tok, limit="5", track_total_hits="true")[:2] == (TOTAL + 1, False)
    assert total(api, tok, limit="5", track_total_hits="0")[:2] == (0, True)
    # A page holding every match knows their number, and still reports it as bounded.
    st, body = get(api, tok, "/alerts", limit="1000", track_total_hits="50")
    doc = json.loads(body)["data"]
    assert len(doc["affected_items"]) == TOTAL + 1 and doc["next_cursor"] is None
    assert (doc["total_affected_items"], doc["total_is_lower_bound"]) == (50, True)
    # Full text: counted from the alert rows, stopping past the bound.
    want = sum(1 for a in lines if "api-event" in a.get("full_log", ""))
    assert want == TOTAL
    q = 'full_log ~ "api-event"'
    assert total(api, tok, q=q, limit="3", track_total_hits="40")[:2] == (40, True)
    assert total(api, tok, q=q, limit="3")[:2] == (want, False)
    assert total(api, tok, q=q, limit="3", track_total_hits="true")[:2] == (want, False)
    assert total(api, tok, q="rule.id:(87903)")[:2] == (1, False)
    assert total(api, tok, q="rule.id:(87903)", track_total_hits="0")[:2] == (0, True)
    assert total(api, tok, q="rule.id:nothing", track_total_hits="0")[:2] == (0, False)
    for bad in ("-1", "false", "1e4", "10000; DROP TABLE alerts"):
        st, body = get(api, tok, "/alerts", track_total_hits=bad)
        assert st == 400 and "track_total_hits" in json.loads(body)["detail"], (bad, body)


def test_sql_injection_fails_cleanly(fed):
    m, api, tok = fed
    attempts = [
        {"q": "rule.id:1' OR '1'='1"},
        {"q": "rule.id:(1) ; DROP TABLE alerts"},
        {"q": "rule.id:1) UNION SELECT raw FROM alerts --"},
        {"sort": "timestamp; DROP TABLE alerts"},
        {"sort": "(SELECT 1)"},
        {"sort": "-rule_level"},
        {"select": "rule.id,(SELECT raw FROM alerts)"},
        {"select": "rule.id' --"},
        {"after": "1_1 OR 1=1"},
        {"from": "0 OR 1=1"},
        {"limit": "1; DROP TABLE alerts"},
    ]
    for params in attempts:
        st, body = get(api, tok, "/alerts", **params)
        doc = json.loads(body)
        if st == 200:
            # Values are bound: the text is looked for as a value and matches nothing.
            assert doc["data"]["total_affected_items"] == 0, params
        else:
            assert st == 400 and doc["error"] == 400, (params, st, body)
    for field in ("rule.id) UNION SELECT raw FROM alerts --", "rule.id;DROP", "a..b", "'x'"):
        st, body = get(api, tok, "/alerts/terms", field=field)
        assert st == 400, (field, body)
    # Nothing changed.
    st, body = get(api, tok, "/alerts", limit="1")
    assert json.loads(body)["data"]["total_affected_items"] == TOTAL + 1

"""The mission's use cases end to end, checked through the API alone: a manager with its SQLite
store and tld-api, an agent enrolled with a password and started on its own, the tests' dockerd.
Use case (a) (test-container from httpd: create, start, pause, unpause, stop, rm, rmi) and (b)
(the SQL injection request to nginx) run as usecases.py runs them; then, only over HTTPS:
login, `/agents` shows the agent active, `rule.id:(87903)` and `rule.id:(31103)` return the
`alerts.json` lines byte for byte, `/alerts/{id}` of each is its line, the top values of
`data.docker.Action` for test-container are its actions with the counts of `alerts.json`, and
the CSV export of those queries has as many rows as the search counts. The dashboard (served
by the same API, in Chromium) shows the same counts on Threat Hunting and the Docker page.

Other tests may use the same dockerd and the agent reports every event of it, so alerts may be
added while this test reads: a result is checked to hold every matching line that was in
`alerts.json` before the request and nothing that is not in it after."""
import csv
import io
import json
import os
import shutil
import subprocess

import pytest  # noqa: F401  (fixtures)

import usecases
from agentlib import wait_until
from apilib import make_manager_and_api
from mgrlib import manager_factory  # noqa: F401
from test_api_alerts import raw_items
from test_manager_mission import localfile_block, mission_file, ruleset_source
from test_manager_store import alert_lines, caught_up

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WEB = os.path.join(REPO, "web")

STORE = "<store><backend>sqlite</backend><path>var/db/alerts.db</path></store>"
AGENT = "Ubuntu22"
ACTIONS = {"create", "start", "pause", "unpause", "stop", "destroy"}


def rule_lines(lines, rid):
    return [l for l in lines if json.loads(l)["rule"]["id"] == rid]


def ours(line):
    """An alert about test-container (its Docker events and posture findings)."""
    d = json.loads(line).get("data", {}).get("docker", {})
    return d.get("Actor", {}).get("Attributes", {}).get("name") == usecases.NAME


def between(before, got, after, what):
    """`got` holds every item of `before` and only items of `after` (as multisets)."""
    for item in set(before):
        assert got.count(item) >= before.count(item), f"{what}: a stored alert is missing"
    for item in set(got):
        assert got.count(item) <= after.count(item), f"{what}: an alert not in alerts.json"


def search(api, tok, q):
    st, _, body = api.request("GET", "/alerts", token=tok, params={"q": q, "limit": "500"})
    assert st == 200, body
    doc, items = raw_items(body)
    assert doc["error"] == 0 and doc["data"]["total_affected_items"] == len(items), doc["data"]
    return items


def export_rows(api, tok, q):
    st, hdr, body = api.request("GET", "/alerts/export.csv", token=tok, params={"q": q})
    assert st == 200 and hdr["content-type"].startswith("text/csv"), (st, body[:200])
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert rows and rows[0][:2] == ["timestamp", "id"], rows[:1]
    return rows[1:]


@pytest.fixture
def mission(docker_env, manager_factory, agent_factory, tmp_path):  # noqa: F811
    """The use cases run with a manager, its store and API, and an enrolled agent; yields the
    manager, the API and the two use cases' alerts (as usecases.py returns them)."""
    env = docker_env
    env.remove_containers(usecases.NAME)
    m, api = make_manager_and_api(manager_factory, ruleset_src=ruleset_source(),
                                  password="mission-pass", extra=STORE,
                                  api_extra=f"<web_root>{WEB}/dist</web_root>")
    os.makedirs(os.path.join(m.root, "etc/decoders"), exist_ok=True)
    shutil.copy(mission_file("local_decoder.xml"),
                os.path.join(m.root, "etc/decoders/local_decoder.xml"))
    m.start()
    api.start()
    pw = tmp_path / "authd.pass"
    pw.write_text("mission-pass\n")
    aroot = str(tmp_path / "agent" / "root")
    p = m.enroll(aroot, AGENT, str(pw))
    assert p.returncode == 0, p.stderr.decode()
    ag = agent_factory(m.agent_config(docker={"socket": env.socket}, extra=localfile_block(env)),
                       name="agent", output=None)
    ag.start()
    wait_until(lambda: (s := ag.stats()) and s.get("forwarder", {}).get("connected")
               and s.get("docker", {}).get("connected"), 60, what="agent connected to both")
    alerts = usecases.AlertFile(m.alerts_path)
    docker = usecases.containers(env, alerts, AGENT)
    web = usecases.web_attack(env, alerts, os.path.join(env.data_root, "containers"))
    # The store's position at the end of alerts.json as it is then (alerts may still come:
    # the agent reports every event of the shared dockerd).
    wait_until(lambda: caught_up(m, len(alert_lines(m))), 180, interval=0.5,
               what="the store caught up")
    yield m, api, docker, web
    ag.stop()
    api.stop()
    m.stop()


def test_use_cases_through_the_api(mission):
    m, api, docker, web = mission
    tok = api.login()

    st, doc = api.json("GET", "/agents", token=tok)
    assert st == 200, doc
    agent = [a for a in doc["data"]["affected_items"] if a["name"] == AGENT]
    assert len(agent) == 1 and agent[0]["id"] == "001" and agent[0]["status"] == "active", doc

    for rid, want in (("87903", [a for a in docker if a["rule"]["id"] == "87903"]),
                      ("31103", [web])):
        q = f"rule.id:({rid})"
        before = rule_lines(alert_lines(m), rid)
        items = search(api, tok, q)
        after = rule_lines(alert_lines(m), rid)
        between(before, items, after, q)
        # The use case's own alerts are among them, and each is the alerts.json line.
        ids = {json.loads(i)["id"] for i in items}
        assert {a["id"] for a in want} <= ids, (q, want)
        for item in items:
            aid = json.loads(item)["id"]
            st, hdr, body = api.request("GET", f"/alerts/{aid}", token=tok)
            assert st == 200 and body == item, (aid, body)
            assert hdr["content-type"] == "application/json"

        # The export has a row per alert the search counts (asked until no alert of the query
        # came between the two searches around it).
        for _ in range(5):
            first = search(api, tok, q)
            rows = export_rows(api, tok, q)
            last = search(api, tok, q)
            if len(first) == len(last):
                break
        assert len(rows) == len(last), (q, len(rows), len(last))
        assert sorted(r[1] for r in rows) == sorted(json.loads(i)["id"] for i in last)
        assert all(r[5] == rid for r in rows), rows

    # The Docker actions of test-container, as the Docker page's "top actions" asks for them.
    q = f'data.docker.Actor.Attributes.name:"{usecases.NAME}"'
    before = [l for l in alert_lines(m) if ours(l)]
    st, doc = api.json("GET", "/alerts/terms", token=tok,
                       params={"field": "data.docker.Action", "q": q, "size": "50"})
    after = [l for l in alert_lines(m) if ours(l)]
    assert st == 200, doc
    terms = {t["value"]: t["count"] for t in doc["data"]["affected_items"]}
    assert ACTIONS <= set(terms), terms

    def counts(lines):
        out = {}
        for l in lines:
            action = json.loads(l)["data"]["docker"].get("Action")
            if action is not None:
                out[action] = out.get(action, 0) + 1
        return out
    lo, hi = counts(before), counts(after)
    assert set(terms) <= set(hi) and all(lo.get(k, 0) <= v <= hi[k] for k, v in terms.items()), (
        terms, lo, hi)


# The same views in the dashboard, in Chromium through tests/web/harness.mjs: Threat Hunting's
# hit counts and first row (the agent, the rule) for the two queries, that row's document (its
# JSON view is the stored alert byte for byte), the Docker page's events and top 5 actions for
# test-container, all as the API counts them, with no console error.
BROWSER = """
import assert from 'node:assert/strict';
import { hits, launch, login, newPage } from '%s';
const want = JSON.parse(process.env.TLD_E2E);
const stack = { url: want.url, user: 'admin', password: want.password };
async function settle(page) {
  for (let stable = 0; stable < 3; ) {
    await page.waitForTimeout(150);
    const busy = await page.evaluate(() => document.documentElement.dataset.busy);
    stable = busy === '0' ? stable + 1 : 0;
  }
}
const browser = await launch();
try {
  const page = await newPage(browser);
  let first = true;
  for (const [q, n] of Object.entries(want.hunting)) {
    const path = 'hunting?q=' + encodeURIComponent(q) + '&from=now-1h';
    if (first) await login(page, stack, path); else await page.goto(stack.url + path);
    first = false;
    await settle(page);
    assert.equal(await hits(page), n, q);
    const row = await page.getByTestId('row').first().textContent();
    assert.match(row, new RegExp('Ubuntu22.*' + q.replace(/\\D/g, '') + '$'), q);
    await page.getByTestId('open-doc').first().click();
    await page.getByTestId('json-tab').click();
    const shown = await page.getByTestId('doc-json').textContent();
    assert.equal(shown, want.stored[JSON.parse(shown).id], q + ': the document is the stored alert');
    await page.getByTestId('close-doc').click();
  }
  const q = encodeURIComponent(want.docker.q);
  await page.goto(stack.url + 'docker?tab=events&from=now-1h&q=' + q);
  await settle(page);
  assert.equal(await hits(page), want.docker.n);
  await page.goto(stack.url + 'docker?from=now-1h&q=' + q);
  await settle(page);
  const top = await page.getByTestId('top-actions').textContent();
  for (const a of want.docker.top) assert.match(top, new RegExp(a), top);
  assert.deepEqual(page.errors, []);
} finally {
  await browser.close();
}
"""


def browser_ready():
    return (os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core"))
            and os.path.exists(os.path.join(WEB, "dist", "index.html"))
            and shutil.which("node") and os.path.exists("/usr/bin/chromium"))


def test_use_cases_in_the_dashboard(mission):
    m, api, _, _ = mission
    if not browser_ready():
        pytest.skip("no web/dist, web/node_modules/playwright-core (make web), node or chromium")
    tok = api.login()
    found = {q: search(api, tok, q) for q in ("rule.id:(87903)", "rule.id:(31103)")}
    hunting = {q: len(items) for q, items in found.items()}
    stored = {json.loads(it)["id"]: it.decode() for items in found.values() for it in items}
    q = f'data.docker.Actor.Attributes.name:"{usecases.NAME}"'
    st, doc = api.json("GET", "/alerts/terms", token=tok,
                       params={"field": "data.docker.Action", "q": q, "size": "5"})
    assert st == 200, doc
    top = [t["value"] for t in doc["data"]["affected_items"]]
    assert {"create", "start", "pause", "unpause", "stop"} & set(top), top
    want = {"url": f"https://127.0.0.1:{api.port}/app/", "password": api.admin_password,
            "hunting": hunting, "stored": stored,
            "docker": {"q": q, "n": len(search(api, tok, q)), "top": top}}
    harness = "file://" + os.path.join(REPO, "tests", "web", "harness.mjs")
    r = subprocess.run(["node", "--input-type=module", "-e", BROWSER % harness], cwd=REPO,
                       env={**os.environ, "TLD_E2E": json.dumps(want)}, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert r.returncode == 0, r.stdout.decode(errors="replace")[-4000:]

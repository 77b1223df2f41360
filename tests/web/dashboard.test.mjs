// Browser tests of the dashboard in Debian's Chromium against a real tld-manager + tld-api
// (harness.mjs): the served files' headers, login and expiry, every page without a console
// error (screenshots into docs/screenshots/), queries, ± filters, brush-zoom, links that
// reproduce a view in a fresh browser, the live tail, the CSV export and the mission alerts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, hits, launch, login, newPage, request, startStack, token } from './harness.mjs';

const SHOTS = join(REPO, 'docs', 'screenshots');
// Routes other branches add: until this API has them, the browser logs their 404 (or the
// manager's 503 before its first statistics) as a network error and the page says so.
// (/alerts/stream and /alerts/export.csv fall under /alerts/{id} there: 400, not an alert id.)
const NOT_YET = /"url":"https:\/\/[^/"]+\/(agents|rules|decoders|logtest|lists|alerts\/export\.csv|alerts\/stream|manager\/stats)\b/;

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (stack) assert.equal(await stack.stop(), 0, 'the manager and the API stopped cleanly');
});

function realErrors(page) {
  return page.errors.filter((e) => !(/Failed to load resource: .*status of (400|404|503)/.test(e) && NOT_YET.test(e)));
}
const noErrors = (page, what) => assert.deepEqual(realErrors(page), [], `console errors on ${what}`);

// Until the page has no API request in flight (api.js keeps <html data-busy>) for a moment.
async function settle(page) {
  for (let stable = 0; stable < 3; ) {
    await page.waitForTimeout(150);
    const busy = await page.evaluate(() => document.documentElement.dataset.busy);
    stable = busy === '0' ? stable + 1 : 0;
  }
}

test('the dashboard files carry the security headers; traversal is refused', async () => {
  const idx = await request(stack, 'GET', '/app/');
  assert.equal(idx.status, 200);
  assert.match(idx.headers['content-security-policy'], /default-src 'self'; script-src 'self'/);
  assert.match(idx.headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(idx.headers['cache-control'], 'no-cache');
  assert.equal(idx.headers['x-content-type-options'], 'nosniff');
  assert.equal(idx.headers['referrer-policy'], 'no-referrer');
  const html = idx.body.toString();
  assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
  const js = /src="\/app\/(assets\/app-[A-Z0-9]+\.js)"/.exec(html)[1];
  const a = await request(stack, 'GET', '/app/' + js, { 'Accept-Encoding': 'gzip' });
  assert.equal(a.status, 200);
  assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(a.headers['content-encoding'], 'gzip');
  const plain = await request(stack, 'GET', '/app/' + js);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.ok(plain.body.length > a.body.length);
  assert.equal((await request(stack, 'GET', '/app/hunting/events')).body.toString(), html, 'pages are index.html');
  for (const p of ['/app/../etc/passwd', '/app/%2e%2e/%2e%2e/etc/passwd', '/app/assets/..%2f..%2fmanager.conf', '/app/.hidden', '/app/assets/%2e%2e']) {
    const r = await request(stack, 'GET', p);
    assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body.toString(), /root:|ossec_config/);
  }
  assert.equal((await request(stack, 'GET', '/app/assets/app-MISSING.js')).status, 404);
  assert.equal((await request(stack, 'POST', '/app/')).status, 405);
  assert.equal((await request(stack, 'GET', '/alerts')).status, 401, 'API routes still want a token');
});

test('login: a wrong password is refused, the right one opens Threat Hunting', async () => {
  const page = await newPage(browser);
  await page.goto(stack.url);
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('[data-testid=login] button[type=submit]');
  await page.locator('[data-testid=login] .error').waitFor();
  await page.fill('input[name=password]', stack.password);
  await page.click('[data-testid=login] button[type=submit]');
  await page.getByTestId('page-hunting').waitFor();
  assert.match(page.url(), /\/app\/hunting$/);
  assert.ok(await page.evaluate(() => sessionStorage.getItem('tld.token')));
  await settle(page);
  assert.equal(await hits(page), stack.alerts, 'the last 24 hours hold every stored alert');
  assert.deepEqual(realErrors(page).filter((e) => !/status of 401/.test(e)), []);
  await page.context().close();
});

test('every page renders without a console error (screenshots at 1440x900)', async () => {
  mkdirSync(SHOTS, { recursive: true });
  const page = await newPage(browser);
  await login(page, stack);
  page.errors.length = 0;
  const pages = [
    ['threat-hunting-events', 'hunting?tab=events', 'page-hunting'],
    ['threat-hunting-dashboard', 'hunting?tab=dashboard', 'level-evolution'],
    ['docker-dashboard', 'docker', 'top-images'],
    ['docker-events', 'docker?tab=events', 'events-table'],
    ['container', 'docker/container/test-container', 'events-table'],
    ['mitre', 'mitre', 'matrix'],
    ['mitre-dashboard', 'mitre?tab=dashboard', 'page-mitre'],
    ['agents', 'agents', 'deploy'],
    ['ruleset', 'ruleset', 'page-ruleset'],
    ['ruleset-logtest', 'ruleset?tab=logtest', 'logtest'],
    ['health', 'health', 'page-health'],
  ];
  for (const [name, path, testid] of pages) {
    await page.goto(stack.url + path);
    await page.getByTestId(testid).first().waitFor();
    await settle(page);
    await page.screenshot({ path: join(SHOTS, name + '.png') });
    noErrors(page, path);
  }
  // the document flyout
  await page.goto(stack.url + 'hunting?q=' + encodeURIComponent('rule.id:(31103)'));
  await page.getByTestId('open-doc').first().click();
  await page.getByTestId('doc-table').waitFor();
  await settle(page);
  await page.screenshot({ path: join(SHOTS, 'document.png') });
  noErrors(page, 'the document flyout');
  await page.context().close();
});

test('a query fills the table; the document is the stored alert exactly', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting');
  await page.getByTestId('query').fill('rule.id:(31103)');
  await page.getByTestId('search').click();
  await page.waitForURL(/q=rule\.id/);
  await settle(page);
  assert.equal(await hits(page), 6);
  assert.equal(await page.getByTestId('row').count(), 6);
  await page.getByTestId('open-doc').first().click();
  await page.getByTestId('json-tab').click();
  const shown = await page.getByTestId('doc-json').textContent();
  const id = JSON.parse(shown).id;
  const stored = await request(stack, 'GET', '/alerts/' + id, { Authorization: 'Bearer ' + (await token(stack)) });
  assert.equal(shown, stored.body.toString(), 'the JSON view is the stored line byte for byte');
  assert.match(page.url(), new RegExp('doc=' + id.replace('.', '\\.')));
  noErrors(page, 'query');
  await page.context().close();
});

test('a total the API only bounds shows as "10,000+ hits"; the exact one as it is', async () => {
  const page = await newPage(browser);
  const seen = [];
  // The search's answer as a store of more than 10,000 matches gives it (the test stack holds
  // fewer): the bound with total_is_lower_bound set.
  await page.route(/\/alerts\?/, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname !== '/alerts') return route.continue();
    const res = await route.fetch();
    const doc = await res.json();
    seen.push(doc.data.total_is_lower_bound);
    if (url.searchParams.get('track_total_hits') === 'true') return route.fulfill({ response: res, json: doc });
    doc.data.total_affected_items = 10000;
    doc.data.total_is_lower_bound = true;
    await route.fulfill({ response: res, json: doc });
  });
  await login(page, stack, 'hunting');
  await settle(page);
  assert.match(await page.getByTestId('hits').textContent(), /^10\D?000\+ hits$/);
  assert.ok(seen.length > 0 && seen.every((b) => b === false), 'the real API counted the small store exactly');
  await page.unroute(/\/alerts\?/);
  await page.getByTestId('query').fill('rule.id:(31103)');
  await page.getByTestId('search').click();
  await page.waitForURL(/q=rule\.id/);
  await settle(page);
  assert.equal(await page.getByTestId('hits').textContent(), '6 hits');
  noErrors(page, 'bounded total');
  await page.context().close();
});

test('± filters and brush-zoom change the results and the URL; the link reproduces the view', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting?from=now-1h');
  await settle(page);
  const total = await hits(page);
  // + on a rule.id cell of the SQL injection rows
  await page.getByTestId('query').fill('rule.groups:sql_injection or rule.groups:authentication_success');
  await page.getByTestId('search').click();
  await settle(page);
  const both = await hits(page);
  const row = page.getByTestId('row').filter({ hasText: 'SQL injection' }).first();
  await row.hover();
  await row.locator('td', { hasText: '31103' }).getByTestId('filter-for').click();
  await page.waitForURL(/f=rule\.id%3A31103/);
  await settle(page);
  assert.equal(await hits(page), 6);
  // the pill negated: the others
  await page.getByTestId('pill').getByRole('button', { name: 'Negate' }).click();
  await page.waitForURL(/f=%21rule\.id%3A31103/);
  await settle(page);
  assert.equal(await hits(page), both - 6);
  // disabled: all of the query again
  await page.getByTestId('pill').getByRole('button', { name: 'Disable' }).click();
  await settle(page);
  assert.equal(await hits(page), both);
  await page.getByTestId('pill').getByRole('button', { name: 'Disable' }).click();
  await settle(page);
  // − from the field sidebar's top values
  await page.getByTestId('field').filter({ hasText: /^data\.dstuser$/ }).click();
  await page.getByTestId('top-values').getByTestId('filter-out').first().click();
  await settle(page);
  const narrowed = await hits(page);
  assert.ok(narrowed < both - 6 && narrowed > 0, `the sidebar's − filter narrows (${narrowed})`);
  assert.equal(await page.getByTestId('pill').count(), 2);
  const link = page.url();
  // a fresh browser context: log in, same view
  const fresh = await newPage(browser);
  await fresh.goto(link);
  await fresh.fill('input[name=password]', stack.password);
  await fresh.click('[data-testid=login] button[type=submit]');
  await fresh.getByTestId('login').waitFor({ state: 'detached' });
  await fresh.getByTestId('pill').first().waitFor();
  await settle(fresh);
  assert.equal(fresh.url(), link);
  assert.equal(await hits(fresh), narrowed);
  assert.equal(await fresh.getByTestId('pill').count(), 2);
  assert.equal(await fresh.getByTestId('query').inputValue(), 'rule.groups:sql_injection or rule.groups:authentication_success');
  await fresh.context().close();
  // brush-zoom: a drag over the left part of the last hour (before the alerts) empties the view
  await page.getByTestId('pill').first().getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId('pill').first().getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId('query').fill('');
  await page.getByTestId('search').click();
  await settle(page);
  assert.equal(await hits(page), total);
  const box = await page.locator('[data-testid=histogram] .u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/from=\d+&to=\d+|to=\d+.*from=\d+/);
  await settle(page);
  const u = new URL(page.url());
  const span = Number(u.searchParams.get('to')) - Number(u.searchParams.get('from'));
  assert.ok(span > 10 * 60e3 && span < 30 * 60e3, `about 24 of the 60 minutes selected (${span} ms)`);
  assert.equal(await hits(page), 0, 'no alert before the test started');
  noErrors(page, 'filters and zoom');
  await page.context().close();
});

test('an expired token opens the login dialog over the page without losing its state', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting?q=' + encodeURIComponent('rule.id:(5715)'));
  await settle(page);
  const n = await hits(page);
  await page.evaluate(() => sessionStorage.setItem('tld.token', 'expired'));
  await page.reload();
  await page.getByTestId('login').waitFor();
  await page.getByTestId('query').fill('rule.id:(5715) and data.dstuser:alice'); // typed under the dialog's backdrop is not possible: set before
  await page.fill('input[name=password]', stack.password);
  await page.click('[data-testid=login] button[type=submit]');
  await settle(page);
  assert.equal(await hits(page), n);
  assert.equal(await page.getByTestId('query').inputValue(), 'rule.id:(5715) and data.dstuser:alice', 'the typed query survived the login');
  await page.context().close();
});

test('the live tail shows an alert produced during the test', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting?q=' + encodeURIComponent('data.dstuser:livetail'));
  await settle(page);
  assert.equal(await hits(page), 0);
  await page.getByTestId('live').click();
  await page.getByTestId('live-mode').waitFor();
  await page.waitForTimeout(1000);
  appendFileSync(stack.syslog, 'Dec  7 10:02:00 web01 sshd[3001]: Accepted password for livetail from 10.0.0.30 port 42000 ssh2\n');
  await page.getByTestId('row').first().waitFor({ timeout: 60e3 });
  assert.match(await page.getByTestId('row').first().textContent(), /authentication success/);
  assert.match(await page.getByTestId('live-mode').textContent(), /1 new/);
  await page.getByTestId('live').click(); // pause
  assert.match(await page.getByTestId('live').textContent(), /Live tail/);
  noErrors(page, 'live tail');
  await page.context().close();
});

test('the CSV export has as many rows as the search', async (t) => {
  const tok = await token(stack);
  const probe = await request(stack, 'GET', '/alerts/export.csv?q=rule.id%3A5710', { Authorization: 'Bearer ' + tok });
  if (probe.status === 404 || (probe.status === 400 && /alert id/.test(probe.body.toString()))) {
    t.skip('GET /alerts/export.csv is not on this API yet (docs/api.md, "Not there yet")');
    return;
  }
  const page = await newPage(browser);
  await login(page, stack, 'hunting?q=' + encodeURIComponent('rule.groups:sshd'));
  await settle(page);
  const n = await hits(page);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const text = await (await import('node:fs/promises')).readFile(await dl.path(), 'utf8');
  const rows = text.trim().split('\n').length - 1;
  assert.equal(rows, n);
  await page.context().close();
});

test('the mission alerts: rule 87903 and 31103 with their fields; Docker shows the container', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting?q=' + encodeURIComponent('rule.id:(87903)') + '&from=now-1h');
  await settle(page);
  assert.ok((await hits(page)) >= 1);
  const row = page.getByTestId('row').filter({ hasText: 'test-container' });
  await page.goto(stack.url + 'docker?tab=events&from=now-1h&q=' + encodeURIComponent('data.docker.Actor.Attributes.name:test-container'));
  await settle(page);
  assert.equal(await hits(page), 1);
  assert.match(await page.getByTestId('row').first().textContent(), /test-container.*|httpd/);
  await page.getByTestId('open-doc').first().click();
  await page.getByTestId('doc-table').waitFor();
  const table = await page.getByTestId('doc-table').textContent();
  assert.match(table, /data\.docker\.Action\s*start/);
  assert.match(table, /rule\.id\s*87903/);
  await page.getByTestId('container-link').click();
  await page.getByTestId('page-container').waitFor();
  await settle(page);
  assert.match(page.url(), /\/docker\/container\/test-container/);
  assert.ok((await hits(page)) >= 1);
  // the Docker dashboard's top images and actions name the events written
  await page.goto(stack.url + 'docker?from=now-1h');
  await settle(page);
  assert.match(await page.getByTestId('top-images').textContent(), /httpd/);
  assert.match(await page.getByTestId('top-actions').textContent(), /start/);
  await page.getByTestId('top-actions').getByRole('button', { name: /start/ }).click();
  await page.waitForURL(/f=data\.docker\.Action%3Astart/);
  // 31103 with its fields
  await page.goto(stack.url + 'hunting?q=' + encodeURIComponent('rule.id:(31103)'));
  await page.getByTestId('open-doc').first().click();
  const t31 = await page.getByTestId('doc-table').textContent();
  assert.match(t31, /data\.url\s*\/users\/\?id=SELECT\+\*\+FROM\+users/);
  assert.match(t31, /rule\.mitre\.id\s*T1190/);
  void row;
  noErrors(page, 'mission');
  await page.context().close();
});

test('the query bar suggests field names, then the field\'s values', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting');
  await settle(page);
  await page.getByTestId('query').fill('data.docker.Act');
  await page.getByTestId('suggestion').filter({ hasText: /^data\.docker\.Action$/ }).click();
  assert.equal(await page.getByTestId('query').inputValue(), 'data.docker.Action:');
  await page.getByTestId('suggestion').filter({ hasText: /^start$/ }).click();
  assert.equal(await page.getByTestId('query').inputValue(), 'data.docker.Action:start ');
  await page.getByTestId('search').click();
  await settle(page);
  assert.equal(await hits(page), 5, 'the mission event and 4 of the generated ones');
  noErrors(page, 'suggestions');
  await page.context().close();
});

// Timings on this test store (about 100 alerts), measured with the page's own clock (navigation
// start, or the click, to the first frame with the new rows): printed and kept in
// build/web-timings.json for docs/performance.md; the bounds only catch a gross regression.
test('timings: first load cold and warm, query to painted table, opening a document', async () => {
  const tok = await token(stack);
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  await context.addInitScript((t) => {
    sessionStorage.setItem('tld.token', t);
    addEventListener('click', () => (window.tldClick = performance.now()), true);
  }, tok);
  const page = await context.newPage();
  // resolves, in the page, at the first animation frame where pred holds
  const painted = (pred, arg) => page.evaluate(([src, a]) => new Promise((resolve) => {
    const f = new Function('a', 'return (' + src + ')(a)');
    const tick = () => (f(a) ? resolve(performance.now()) : requestAnimationFrame(tick));
    tick();
  }), [pred.toString(), arg]);
  const rowHas = (want) => { const r = document.querySelector('[data-testid=row]'); return !!r && r.textContent.includes(want) && document.documentElement.dataset.busy === '0'; };
  await page.goto(stack.url + 'hunting?q=' + encodeURIComponent('rule.groups:sshd'));
  const cold = await painted(rowHas, 'sshd');
  await page.reload();
  const warm = await painted(rowHas, 'sshd');
  const queries = [];
  for (let i = 0; i < 10; i++) {
    const want = i % 2 ? 'sshd' : 'Docker';
    await page.getByTestId('query').fill(i % 2 ? 'rule.groups:sshd' : 'rule.groups:docker');
    await page.getByTestId('query').blur();
    await page.getByTestId('search').click();
    const t = await painted(rowHas, want);
    queries.push(t - (await page.evaluate(() => window.tldClick)));
  }
  const docs = [];
  for (let i = 0; i < 5; i++) {
    await page.getByTestId('open-doc').nth(i).click();
    const t = await painted(() => !!document.querySelector('[data-testid=doc-table]'));
    docs.push(t - (await page.evaluate(() => window.tldClick)));
    await page.getByTestId('close-doc').click();
  }
  const p95 = (v) => [...v].sort((a, b) => a - b)[Math.ceil(v.length * 0.95) - 1];
  const r = (x) => Math.round(x);
  const result = { alerts: stack.alerts, cold_ms: r(cold), warm_ms: r(warm), query_p95_ms: r(p95(queries)), doc_max_ms: r(Math.max(...docs)) };
  console.log('web timings', JSON.stringify(result));
  mkdirSync(join(REPO, 'build'), { recursive: true });
  writeFileSync(join(REPO, 'build', 'web-timings.json'), JSON.stringify(result) + '\n');
  assert.ok(cold < 10000 && warm < 10000 && result.query_p95_ms < 5000 && result.doc_max_ms < 5000, JSON.stringify(result));
  await context.close();
});

test('table: columns from the sidebar, sort, widths that persist; time picker and refresh', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'hunting?q=' + encodeURIComponent('rule.groups:sshd'));
  await settle(page);
  // a column from the field sidebar, then removed from its header
  const field = page.locator('[data-testid=sidebar] li').filter({ has: page.getByTestId('field').filter({ hasText: /^data\.srcip$/ }) });
  await field.getByTestId('toggle-col').click();
  await page.waitForURL(/cols=[^&]*data\.srcip/);
  assert.ok((await page.locator('[data-testid=events-table] th').allTextContents()).some((t) => t.includes('data.srcip')));
  // sort by rule.level, ascending then descending
  await page.locator('th button', { hasText: /^rule\.level/ }).click();
  await page.waitForURL(/sort=-rule\.level/);
  const levels = async () => (await page.locator('[data-testid=row]').evaluateAll((rows) => rows.map((r) => r.children[6].textContent)));
  const desc = (await levels()).map((x) => Number(x.replace(/[^0-9]/g, '')));
  assert.deepEqual(desc, [...desc].sort((a, b) => b - a));
  await page.locator('th button', { hasText: /^rule\.level/ }).click();
  await page.waitForURL(/sort=%2Brule\.level|sort=\+rule\.level/);
  // a width dragged on a header stays after a reload
  const th = page.locator('[data-testid=events-table] th').filter({ hasText: 'rule.description' });
  const before = (await th.boundingBox()).width;
  const handle = await th.locator('.resizer').boundingBox();
  await page.mouse.move(handle.x + 2, handle.y + 5);
  await page.mouse.down();
  await page.mouse.move(handle.x + 152, handle.y + 5, { steps: 5 });
  await page.mouse.up();
  const wider = (await th.boundingBox()).width;
  assert.ok(wider > before + 100, `${before} -> ${wider}`);
  await page.reload();
  await settle(page);
  assert.ok(Math.abs((await th.boundingBox()).width - wider) < 3, 'the width survived the reload');
  // quick range and refresh interval go to the URL
  await page.getByTestId('time-button').click();
  await page.getByTestId('time-popover').getByRole('button', { name: 'Last 15 minutes' }).click();
  await page.waitForURL(/from=now-15m/);
  await page.getByTestId('refresh').selectOption('5s');
  await page.waitForURL(/refresh=5s/);
  await settle(page);
  assert.ok((await hits(page)) > 0);
  noErrors(page, 'table and time picker');
  await page.context().close();
});

test('MITRE: the matrix colours techniques with alerts; a technique opens its alerts', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'mitre');
  await settle(page);
  const shown = await page.getByTestId('technique').count();
  assert.ok(shown >= 6 && shown < 30, `only techniques with alerts (${shown})`);
  await page.getByTestId('hide-empty').uncheck();
  await settle(page);
  assert.ok((await page.getByTestId('technique').count()) > 200, 'every technique once unhidden');
  await page.getByTestId('hide-empty').check();
  await page.getByTestId('technique').filter({ hasText: 'Exploit Public-Facing Application' }).first().click();
  await page.getByTestId('technique-card').getByRole('button', { name: 'Show its alerts' }).click();
  await page.waitForURL(/tab=events/);
  await settle(page);
  assert.match(decodeURIComponent(page.url()), /q=rule\.mitre\.id:"T1190"/);
  assert.equal(await hits(page), 6);
  noErrors(page, 'MITRE');
  await page.context().close();
});

test('Ruleset: a local file edited in the browser: errors at their line, then saved, reloaded and seen by logtest', async () => {
  const page = await newPage(browser);
  await login(page, stack, 'ruleset?rs=100900');
  await settle(page);
  const row = page.getByTestId('rules-table').locator('tr', { hasText: '100900' });
  await row.getByRole('button', { name: 'local_rules.xml' }).click();
  const text = page.getByTestId('file-text');
  await text.waitFor();
  const original = await text.inputValue();
  assert.match(original, /tld-browser-marker-one/);
  // An unknown option on line 4: refused, the error names the line and the textarea selects it.
  const lines = original.split('\n');
  lines.splice(3, 0, '    <nosuch_option>1</nosuch_option>');
  await text.fill(lines.join('\n'));
  await page.getByTestId('file-save').click();
  const status = page.getByTestId('file-status');
  await status.getByTestId('error-line').first().waitFor();
  assert.equal(await status.getByTestId('error-line').first().textContent(), 'Line 4');
  assert.match(await status.textContent(), /nosuch_option/);
  const selected = await text.evaluate((a) => a.value.slice(a.selectionStart, a.selectionEnd));
  assert.equal(selected, '    <nosuch_option>1</nosuch_option>');
  // A new rule: saved, the manager reloads, and logtest matches it.
  const added = original.replace('</group>', '  <rule id="100901" level="5">\n' +
    '    <match>tld-browser-marker-two</match>\n    <description>Added in the browser</description>\n  </rule>\n</group>');
  await text.fill(added);
  await page.getByTestId('file-save').click();
  await page.waitForFunction(() => /Saved and reloaded/.test(document.querySelector('[data-testid=file-status]')?.textContent || ''));
  await page.getByRole('tab', { name: 'Logtest' }).click();
  await page.getByLabel('Log line').fill('Dec  7 10:00:00 web01 app: tld-browser-marker-two seen');
  await page.getByTestId('logtest').getByRole('button', { name: 'Test' }).click();
  await page.waitForFunction(() => /100901/.test(document.querySelector('[data-testid=logtest] .phases')?.textContent || ''));
  const phases = await page.getByTestId('logtest').locator('.phases').textContent();
  assert.match(phases, /Pre-decoding[\s\S]*Decoding[\s\S]*Rule matching[\s\S]*"level": 5/);
  // The refused save's 400 is the answer this test asked for; nothing else may be logged.
  const others = realErrors(page).filter((e) => !/status of 400/.test(e) || !/rules\/files\/local_rules\.xml/.test(e));
  assert.deepEqual(others, [], 'console errors on the Ruleset page');
  await page.context().close();
});

// The dashboard's timings in Debian's Chromium (driven by playwright-core from web/node_modules),
// for bench/dashboard_bench.py, which starts tld-api on a large store and passes the settings in
// TLD_DASH_BENCH (JSON: url, token, from, to, queries, runs). Each run opens a new browser
// context (empty cache: the cold load), opens the page again in it (the warm load), runs the queries one
// after the other from the query bar and opens documents from the table. Times are the page's
// own clock up to the first animation frame that shows the awaited rows, and up to the first
// with no request in flight either.
// Prints one JSON object on stdout.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'web', 'package.json'));
const { chromium } = require('playwright-core');

const cfg = JSON.parse(process.env.TLD_DASH_BENCH);
const DOCS_PER_RUN = 5;
const WAIT_MS = 120e3;
// The timeline and the sampled JavaScript profile, as DevTools' Performance panel records them.
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'disabled-by-default-v8.cpu_profiler', 'blink.user_timing', 'loading'];

// A wait in the page that gives up after WAIT_MS, saying what the page shows.
async function within(page, promise, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} after ${WAIT_MS} ms`)), WAIT_MS); });
  try {
    return await Promise.race([promise, late]);
  } catch (e) {
    const shown = await page.evaluate(() => document.body.innerText.slice(0, 1500)).catch(() => '');
    throw new Error(`${e.message}; the page shows:\n${shown}`);
  } finally {
    clearTimeout(timer);
  }
}

// In the page: performance.now() at the first animation frame where pred(arg) holds.
function painted(page, pred, arg) {
  return within(page, page.evaluate(([src, a]) => new Promise((resolve) => {
    const f = new Function('a', 'return (' + src + ')(a)');
    const tick = () => (f(a) ? resolve(performance.now()) : requestAnimationFrame(tick));
    tick();
  }), [pred.toString(), arg]), 'painted frame');
}

// In the page: {rows, settled}: the first frame whose table's first row is one of the awaited
// query's (the table painted), then the first with no request in flight either (the histogram
// and the hits line drawn too).
function paintedRows(page, want) {
  return within(page, page.evaluate((w) => new Promise((resolve) => {
    let rows = 0;
    const tick = () => {
      const r = document.querySelector('[data-testid=row]');
      const shown = !!r && r.textContent.includes(w);
      if (shown && !rows) rows = performance.now();
      if (shown && document.documentElement.dataset.busy === '0') resolve({ rows, settled: performance.now() });
      else requestAnimationFrame(tick);
    };
    tick();
  }), want), `rows of ${want}`);
}

async function newPage(context, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return page;
}

async function oneRun(browser, index) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  await context.addInitScript((t) => {
    sessionStorage.setItem('tld.token', t);
    addEventListener('click', () => (window.tldClick = performance.now()), true);
    // Main-thread tasks over 50 ms, for where a load's time went.
    window.tldLong = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.tldLong.push(`${Math.round(e.startTime)}+${Math.round(e.duration)}`)))
      .observe({ type: 'longtask', buffered: true });
  }, cfg.token);
  const errors = [];
  const [first] = cfg.queries;
  const url = cfg.url + 'hunting?q=' + encodeURIComponent(first.q) + `&from=${cfg.from}&to=${cfg.to}`;
  // Cold: a new context has an empty cache. Warm: the same tab navigates to the page again
  // (assets from the cache), timed from its own navigation as the cold one is.
  const page = await newPage(context, errors);
  await page.goto(url);
  const cold = await paintedRows(page, first.want);
  // TLD_DASH_TRACE=file: a Chrome trace of the first run's warm load (chrome://tracing or
  // Perfetto opens it), for where that load's milliseconds went.
  const trace = process.env.TLD_DASH_TRACE && index === 0;
  if (trace) await browser.startTracing(page, { path: process.env.TLD_DASH_TRACE, screenshots: false, categories: TRACE_CATEGORIES });
  await page.goto(url);
  const warm = await paintedRows(page, first.want);
  if (trace) await browser.stopTracing();
  // Where the warm load's time went: the page itself, then each request (resource timing).
  const calls = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation');
    const doc = { path: 'page', start: nav.responseStart, ms: nav.domContentLoadedEventEnd - nav.responseStart };
    return [doc, ...performance.getEntriesByType('resource')
      .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime, ms: e.duration })),
    ...window.tldLong.map((t) => ({ path: 'long task', start: Number(t.split('+')[0]), ms: Number(t.split('+')[1]) }))];
  });
  const queries = [];
  for (let i = 1; i <= cfg.queries.length * 5; i++) {
    const { q, want } = cfg.queries[i % cfg.queries.length];
    await page.getByTestId('query').fill(q);
    await page.getByTestId('query').blur();
    await page.getByTestId('search').click();
    const t = await paintedRows(page, want);
    const click = await page.evaluate(() => window.tldClick);
    // The requests this query made, relative to the click: what the API took of the time.
    const calls = await page.evaluate((c) => performance.getEntriesByType('resource').filter((e) => e.startTime >= c)
      .map((e) => `${new URL(e.name).pathname} ${Math.round(e.startTime - c)}+${Math.round(e.duration)}`), click);
    queries.push({ rows: t.rows - click, settled: t.settled - click, calls });
  }
  const docs = [];
  for (let i = 0; i < DOCS_PER_RUN; i++) {
    await page.getByTestId('open-doc').nth(i).click();
    const t = await painted(page, () => !!document.querySelector('[data-testid=doc-table]'));
    docs.push(t - (await page.evaluate(() => window.tldClick)));
    await page.getByTestId('close-doc').click();
  }
  const hits = await page.getByTestId('hits').textContent();
  await context.close();
  return { cold, warm, calls, queries, docs, hits, errors };
}

const browser = await chromium.launch({ executablePath: process.env.TLD_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const runs = [];
  for (let i = 0; i < cfg.runs; i++) runs.push(await oneRun(browser, i));
  console.log(JSON.stringify({ runs }));
} finally {
  await browser.close();
}

// The browser tests' harness: starts tests/web/stack.py (a manager with a filled store and
// tld-api serving web/dist), launches Debian's Chromium through playwright-core, and gives
// pages that record every console error and uncaught exception.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');
const require = createRequire(join(REPO, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export async function startStack() {
  const env = { ...process.env, TLD_BUILD: process.env.TLD_BUILD || join(REPO, 'build', 'asan') };
  const proc = spawn('/usr/bin/python3', [join(here, 'stack.py')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: proc.stdout });
  const info = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('stack.py did not start in 300 s')), 300e3);
    rl.once('line', (l) => { clearTimeout(t); resolve(JSON.parse(l)); });
    proc.once('exit', (c) => reject(new Error('stack.py exited with ' + c)));
  });
  if (info.error) throw new Error('stack.py: ' + info.error);
  info.ca = readFileSync(join(info.root, 'var/ca/ca.crt'));
  info.stop = () => new Promise((resolve) => { proc.once('exit', (c) => resolve(c)); proc.stdin.end(); });
  return info;
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.TLD_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
}

export async function newPage(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text() + ' @ ' + JSON.stringify(m.location())); });
  page.on('pageerror', (e) => page.errors.push('uncaught: ' + e.message));
  return page;
}

export async function login(page, stack, path = '') {
  await page.goto(stack.url + path);
  await page.getByTestId('login').waitFor();
  await page.fill('input[name=user]', stack.user);
  await page.fill('input[name=password]', stack.password);
  await page.click('[data-testid=login] button[type=submit]');
  await page.getByTestId('login').waitFor({ state: 'detached' });
}

// One HTTPS request from node (trusting the root's CA): {status, headers, body}.
export function request(stack, method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(stack.origin);
    const r = https.request({ host: u.hostname, port: u.port, path, method, headers, ca: stack.ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.on('error', reject);
    r.end();
  });
}

export async function token(stack) {
  const r = await request(stack, 'POST', '/security/user/authenticate', { Authorization: 'Basic ' + Buffer.from(stack.user + ':' + stack.password).toString('base64') });
  return JSON.parse(r.body).data.token;
}

// The hit count once a search has answered ("1,234 hits").
export async function hits(page) {
  await page.waitForFunction(() => /\d\+? hits$/.test((document.querySelector('[data-testid=hits]') || {}).textContent || ''));
  return Number((await page.getByTestId('hits').textContent()).replace(/[^0-9]/g, ''));
}

// Calls to tld-api. The token lives in sessionStorage (gone with the tab); a 401 opens the login
// dialog over the page and the call is retried after it, so the page keeps its state. A route
// the API does not have (404) comes back as an ApiError with status 404, which pages show as
// "not available on this API".
import { useLayoutEffect, useState } from 'preact/hooks';

const KEY = 'tld.token';
let token = sessionStorage.getItem(KEY);
let waiting = null; // {promise, resolve} while the login dialog is open
const watchers = new Set();

// errors: the API's list of {file, line, element, message} when it names where (ruleset files).
export class ApiError extends Error {
  constructor(status, detail, errors) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(errors) ? errors : [];
  }
}

export const hasToken = () => !!token;
// fn(waiting) at each change, and at once when a login is already asked for: a request that
// left while the page was first drawn may have been refused before the watcher came.
export function watchAuth(fn) {
  watchers.add(fn);
  if (waiting) fn(true);
  return () => watchers.delete(fn);
}
const tell = () => watchers.forEach((fn) => fn(!!waiting));

function needLogin() {
  if (!waiting) {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    waiting = { promise, resolve };
    tell();
  }
  return waiting.promise;
}

export async function login(user, password) {
  const r = await fetch('/security/user/authenticate', {
    method: 'POST',
    headers: { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(user + ':' + password))) },
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, body.detail || 'login refused');
  token = body.data.token;
  sessionStorage.setItem(KEY, token);
  sessionStorage.setItem('tld.user', user);
  if (waiting) {
    const w = waiting;
    waiting = null;
    w.resolve();
  }
  tell();
}

export async function logout() {
  if (token) await fetch('/security/user/authenticate', { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
  token = null;
  sessionStorage.removeItem(KEY);
  needLogin();
}

export const qs = (params) =>
  new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();

// fetch with the token; resolves to the Response (ok) or throws ApiError.
// Requests in flight, on <html data-busy>: the browser tests wait for it to reach 0.
let busy = 0;
const mark = (d) => (document.documentElement.dataset.busy = String((busy += d)));
mark(0);

// Another kind of load (code fetched on demand) counted as in flight until it settles.
export function tracked(promise) {
  mark(1);
  return promise.finally(() => setTimeout(() => mark(-1), 0));
}

// opts.untracked: a long-lived request (the live tail's stream) that is never "in flight".
export async function call(path, opts = {}) {
  if (opts.untracked) return attempt(path, opts);
  mark(1);
  try {
    return await attempt(path, opts);
  } finally {
    setTimeout(() => mark(-1), 0);
  }
}

// A route that other API versions add is "not there" on this one: 404, or 400 when the path
// falls under /alerts/{id} (an alert id is digits and a dot).
export const missing = (e) => e && (e.status === 404 || (e.status === 400 && /alert id/.test(e.message)));

async function attempt(path, { method = 'GET', params, body, signal, headers = {} } = {}) {
  const url = path + (params ? '?' + qs(params) : '');
  for (;;) {
    if (!token) await needLogin();
    const r = await fetch(url, { method, body, signal, headers: { ...headers, Authorization: 'Bearer ' + token } });
    if (r.status === 401) {
      token = null;
      sessionStorage.removeItem(KEY);
      await needLogin();
      continue;
    }
    if (!r.ok) {
      const e = await r.json().catch(() => ({}));
      throw new ApiError(r.status, e.detail || e.title || r.statusText, e.errors);
    }
    return r;
  }
}

export const getJson = async (path, opts) => (await call(path, opts)).json();

// A data hook: {data, error, loading}; a newer call wins over a slower older one. The request
// leaves as soon as the component is rendered, not after the next paint (a layout effect).
export function useApi(fn, deps) {
  const [st, setSt] = useState({ data: null, error: null, loading: true });
  useLayoutEffect(() => {
    let live = true;
    setSt((s) => ({ ...s, loading: true }));
    mark(1);
    Promise.resolve()
      .then(fn)
      .then(
        (data) => live && setSt({ data, error: null, loading: false }),
        (error) => live && setSt({ data: null, error, loading: false })
      )
      .finally(() => setTimeout(() => mark(-1), 0));
    return () => (live = false);
  }, deps);
  return st;
}

// Common calls.
export const search = (p) => getJson('/alerts', { params: p });
// A KPI is a count to read exactly: past the API's default bound (10,000) too.
export const count = async (p) => (await getJson('/alerts', { params: { ...p, limit: 1, select: 'id', track_total_hits: 'true' } })).data.total_affected_items;
export const terms = async (p) => (await getJson('/alerts/terms', { params: p })).data.affected_items;
export const histogram = async (p) => (await getJson('/alerts/histogram', { params: { interval: 'auto', ...p } })).data;

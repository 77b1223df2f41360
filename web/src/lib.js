// Shared pieces of the dashboard: the htm binding, the URL as the single place of view state,
// the time range language (now-24h, epoch ms, ISO), the query composition from filter pills,
// and the time formatting with the UTC toggle.
import { Component, h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

// A component drawn again only when a prop changed (by identity): of a page of table rows, only
// the row whose state moved is redrawn. Preact's own memo lives in preact/compat, whose hooks on
// every element of every page would cost more than this saves.
export function memo(Draw) {
  class Memo extends Component {
    shouldComponentUpdate(next) {
      const was = this.props;
      for (const k in next) if (next[k] !== was[k]) return true;
      for (const k in was) if (!(k in next)) return true;
      return false;
    }

    render(props) {
      return h(Draw, props);
    }
  }
  return Memo;
}

export const BASE = '/app';

// ---- the URL -----------------------------------------------------------------------------------
function current() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/';
  return { path: path.replace(/\/+$/, '') || '/', params: new URLSearchParams(location.search) };
}

export function navigate(path, params, replace = false) {
  const qs = params ? params.toString() : '';
  const url = BASE + path + (qs ? '?' + qs : '');
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  dispatchEvent(new Event('tld-nav'));
}

// Merge changes into the current query string (null removes a key; arrays repeat it).
export function setParams(changes, replace = false, path) {
  const cur = current();
  const p = new URLSearchParams(cur.params);
  for (const [k, v] of Object.entries(changes)) {
    p.delete(k);
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.set(k, String(v));
  }
  navigate(path ?? cur.path, p, replace);
}

export function useLocation() {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const on = () => setLoc(current());
    addEventListener('popstate', on);
    addEventListener('tld-nav', on);
    return () => {
      removeEventListener('popstate', on);
      removeEventListener('tld-nav', on);
    };
  }, []);
  return loc;
}

// ---- time ------------------------------------------------------------------------------------
const UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

export function resolveTime(s, now = Date.now()) {
  if (!s || s === 'now') return now;
  const rel = /^now-(\d+)([smhdw])$/.exec(s);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]];
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? now : t;
}

export function timeRange(params) {
  const now = Date.now();
  const from = params.get('from') || 'now-24h';
  const to = params.get('to') || 'now';
  return { from: resolveTime(from, now), to: resolveTime(to, now) + (to === 'now' ? 1 : 0), fromS: from, toS: to };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
export function fmtTime(ms, utc) {
  const d = new Date(ms);
  const g = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${g[0]}-${pad(g[1])}-${pad(g[2])} ${pad(g[3])}:${pad(g[4])}:${pad(g[5])}.${pad(g[6], 3)}${utc ? 'Z' : ''}`;
}

// Fields every alert view can suggest before any alert is loaded (docs/query.md).
export const COMMON_FIELDS = [
  'agent.id', 'agent.ip', 'agent.name', 'container.image.name', 'container.name', 'data.docker.Action',
  'data.docker.Actor.Attributes.image', 'data.docker.Actor.Attributes.name', 'data.docker.Type', 'data.dstuser',
  'data.srcip', 'data.url', 'decoder.name', 'full_log', 'location', 'manager.name', 'rule.description',
  'rule.groups', 'rule.id', 'rule.level', 'rule.mitre.id', 'rule.mitre.tactic', 'rule.mitre.technique',
];

export const isUtc = (params) => params.get('utc') === '1';

// ---- filters and queries ---------------------------------------------------------------------
// A filter travels in the URL as `f=[~][!]field:value` (~ disabled, ! negated).
export function parseFilters(params) {
  return params.getAll('f').map((s) => {
    let off = false, neg = false;
    if (s[0] === '~') { off = true; s = s.slice(1); }
    if (s[0] === '!') { neg = true; s = s.slice(1); }
    const i = s.indexOf(':');
    return { field: s.slice(0, i), value: s.slice(i + 1), neg, off };
  });
}
export const encodeFilter = (f) => (f.off ? '~' : '') + (f.neg ? '!' : '') + f.field + ':' + f.value;

export const quote = (v) => '"' + String(v).replace(/[\\"]/g, (c) => '\\' + c) + '"';

export function filterQuery(f) {
  const t = f.value === '*' ? `${f.field}:*` : `${f.field}:${quote(f.value)}`;
  return f.neg ? `not ${t}` : t;
}

// The query sent to the API: the typed query and every enabled pill, and-ed.
export function composeQuery(q, filters, fixed = []) {
  const parts = [...fixed];
  if (q && q.trim()) parts.push('(' + q.trim() + ')');
  for (const f of filters) if (!f.off) parts.push(filterQuery(f));
  return parts.join(' and ');
}

export function addFilter(field, value, neg = false) {
  const p = current().params;
  const fs = parseFilters(p).filter((f) => !(f.field === field && f.value === String(value)));
  fs.push({ field, value: String(value), neg, off: false });
  setParams({ f: fs.map(encodeFilter), doc: null });
}

// ---- alert fields ----------------------------------------------------------------------------
export function getField(doc, path) {
  if (!doc) return undefined;
  if (path in doc) return doc[path];
  const parts = path.split('.');
  let cur = doc;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    // keys with dots inside (com.docker.compose.project): try the longest key first
    let found = false;
    for (let j = parts.length; j > i; j--) {
      const k = parts.slice(i, j).join('.');
      if (k in cur) { cur = cur[k]; i = j - 1; found = true; break; }
    }
    if (!found) return undefined;
  }
  return cur;
}

export function flatten(doc, prefix = '', out = []) {
  for (const [k, v] of Object.entries(doc || {})) {
    const key = prefix ? prefix + '.' + k : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

export const show = (v) => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function alertTime(a) {
  const t = Date.parse(a && a.timestamp ? a.timestamp.replace(/([+-]\d\d)(\d\d)$/, '$1:$2') : '');
  return Number.isNaN(t) ? 0 : t;
}

// The container an alert names (Docker events, container logs), if any.
export function containerOf(a) {
  return getField(a, 'data.docker.Actor.Attributes.name') || getField(a, 'container.name') || null;
}

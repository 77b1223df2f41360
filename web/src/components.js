// The shell's building blocks: login dialog, search bar (query, time picker, refresh), filter
// pills, "not available" and error states, and the top-N list used by dashboard panels.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { login, missing, terms } from './api.js';
import { html, setParams, parseFilters, encodeFilter, fmtTime, resolveTime, addFilter, quote, timeRange, COMMON_FIELDS } from './lib.js';

export function LoginDialog() {
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    setErr('');
    try {
      await login(f.get('user'), f.get('password'));
    } catch (x) {
      setErr(x.status === 429 ? 'Too many failed logins: wait a minute.' : x.message);
    }
    setBusy(false);
  };
  return html`<div class="modal-back">
    <form class="modal login" onSubmit=${submit} data-testid="login">
      <h2>ThreatLockDown</h2>
      <p class="muted">Sign in to the API. The first administrator is <code>admin</code>; its
        password is in <code>ROOT/etc/api/admin.password</code>.</p>
      <label>User <input name="user" autocomplete="username" value=${sessionStorage.getItem('tld.user') || 'admin'} required /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required autofocus /></label>
      ${err && html`<div class="error" role="alert">${err}</div>`}
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
  </div>`;
}

export const NotAvailable = ({ what }) =>
  html`<div class="notice" data-testid="not-available"><b>Not available.</b> This API does not offer <code>${what}</code> yet.</div>`;

export function ErrorBox({ error, what }) {
  if (!error) return null;
  if (missing(error) && what) return html`<${NotAvailable} what=${what} />`;
  return html`<div class="error" role="alert" data-testid="error">${error.message}</div>`;
}

const QUICK = [
  ['now-15m', 'Last 15 minutes'], ['now-1h', 'Last hour'], ['now-24h', 'Last 24 hours'],
  ['now-7d', 'Last 7 days'], ['now-30d', 'Last 30 days'], ['now-365d', 'Last year'],
];
const REFRESH = [['', 'Off'], ['5s', '5 s'], ['10s', '10 s'], ['30s', '30 s'], ['1m', '1 min'], ['5m', '5 min']];

function rangeLabel(from, to, utc) {
  const q = QUICK.find(([k]) => k === from);
  if (q && to === 'now') return q[1];
  return `${fmtTime(resolveTime(from), utc)} → ${to === 'now' ? 'now' : fmtTime(resolveTime(to), utc)}`;
}

const toInput = (ms) => new Date(ms).toISOString().slice(0, 19);

export function TimePicker({ params }) {
  const [open, setOpen] = useState(false);
  const from = params.get('from') || 'now-24h', to = params.get('to') || 'now';
  const utc = params.get('utc') === '1';
  const apply = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const a = Date.parse(f.get('from') + 'Z'), b = Date.parse(f.get('to') + 'Z');
    if (!Number.isNaN(a) && !Number.isNaN(b) && a < b) setParams({ from: a, to: b, doc: null });
    setOpen(false);
  };
  return html`<div class="timepicker">
    <button type="button" onClick=${() => setOpen(!open)} data-testid="time-button" aria-expanded=${open}>${rangeLabel(from, to, utc)}</button>
    <select aria-label="Refresh every" value=${params.get('refresh') || ''} onChange=${(e) => setParams({ refresh: e.target.value }, true)} data-testid="refresh">
      ${REFRESH.map(([v, l]) => html`<option value=${v}>${v ? 'Refresh ' + l : 'No refresh'}</option>`)}
    </select>
    ${open && html`<div class="popover" data-testid="time-popover">
      <div class="quick">${QUICK.map(([k, l]) => html`<button type="button" onClick=${() => { setParams({ from: k, to: 'now', doc: null }); setOpen(false); }}>${l}</button>`)}</div>
      <form onSubmit=${apply} class="absolute">
        <label>From (UTC) <input name="from" type="datetime-local" step="1" value=${toInput(resolveTime(from))} /></label>
        <label>To (UTC) <input name="to" type="datetime-local" step="1" value=${toInput(resolveTime(to))} /></label>
        <button type="submit" class="primary">Apply</button>
      </form>
    </div>`}
  </div>`;
}

// The refresh interval: calls tick() every `refresh` (5s, 1m) while set.
export function useRefresh(params) {
  const [n, setN] = useState(0);
  const r = params.get('refresh');
  useEffect(() => {
    const m = /^(\d+)([sm])$/.exec(r || '');
    if (!m) return;
    const id = setInterval(() => setN((x) => x + 1), Number(m[1]) * (m[2] === 'm' ? 60e3 : 1e3));
    return () => clearInterval(id);
  }, [r]);
  return n;
}

const OPS = ['and', 'or', 'not'];
const bare = (v) => (/^[A-Za-z0-9_.@\/-]+$/.test(v) && !OPS.includes(v.toLowerCase()) ? v : quote(v));

// After "field:" the field's most frequent values in the current time range.
function useValues(field, params) {
  const [vals, setVals] = useState([]);
  useEffect(() => {
    if (!field) return setVals([]);
    let live = true;
    const t = setTimeout(() => {
      const { from, to } = timeRange(params);
      terms({ field, size: 10, from, to }).then((v) => live && setVals(v.map((x) => String(x.value))), () => live && setVals([]));
    }, 200);
    return () => { live = false; clearTimeout(t); };
  }, [field]);
  return vals;
}

export function QueryBar({ params, fields: loaded }) {
  const fields = useMemo(() => [...new Set([...loaded, ...COMMON_FIELDS])].sort(), [loaded.join()]);
  const [text, setText] = useState(params.get('q') || '');
  const [focus, setFocus] = useState(false);
  const input = useRef(null);
  useEffect(() => setText(params.get('q') || ''), [params.get('q')]);
  const fv = focus ? /([A-Za-z0-9_.@-]+):([^\s():"]*)$/.exec(text) : null;
  const values = useValues(fv && fields.includes(fv[1]) ? fv[1] : null, params);
  const word = fv ? fv[2] : /([A-Za-z0-9_.@-]*)$/.exec(text)[1];
  const sugg = !focus ? [] : fv ? values.filter((v) => v.startsWith(word)).slice(0, 10)
    : word.length > 0 ? [...fields, ...OPS].filter((f) => f.startsWith(word) && f !== word).slice(0, 8) : [];
  const pick = (f) => {
    const head = text.slice(0, text.length - word.length);
    setText(fv ? head + bare(f) + ' ' : head + f + (OPS.includes(f) ? ' ' : ':'));
    input.current && input.current.focus();
  };
  const submit = (e) => {
    e.preventDefault();
    setParams({ q: text.trim(), doc: null });
  };
  return html`<form class="querybar" onSubmit=${submit} role="search">
    <div class="qwrap">
      <input ref=${input} value=${text} onInput=${(e) => setText(e.target.value)} onFocus=${() => setFocus(true)}
        onBlur=${() => setTimeout(() => setFocus(false), 150)} placeholder='rule.level >= 10 and not agent.name:web*   ("text" searches full_log)'
        aria-label="Query" data-testid="query" spellcheck="false" />
      ${sugg.length > 0 && html`<ul class="suggest" role="listbox">${sugg.map((f) => html`<li role="option" data-testid="suggestion" onMouseDown=${(e) => { e.preventDefault(); pick(f); }}>${f}</li>`)}</ul>`}
    </div>
    <${TimePicker} params=${params} />
    <button type="submit" class="primary" data-testid="search">Search</button>
  </form>`;
}

export function Pills({ params }) {
  const fs = parseFilters(params);
  if (!fs.length) return null;
  const save = (list) => setParams({ f: list.map(encodeFilter), doc: null });
  return html`<div class="pills" data-testid="pills">${fs.map((f, i) => html`<span class=${'pill' + (f.neg ? ' neg' : '') + (f.off ? ' off' : '')} data-testid="pill">
      <span class="pill-text">${f.neg ? 'NOT ' : ''}${f.field}: ${f.value}</span>
      <button type="button" title="Negate" aria-label="Negate" onClick=${() => save(fs.map((g, j) => (j === i ? { ...g, neg: !g.neg } : g)))}>±</button>
      <button type="button" title=${f.off ? 'Enable' : 'Disable'} aria-label="Disable" onClick=${() => save(fs.map((g, j) => (j === i ? { ...g, off: !g.off } : g)))}>${f.off ? '○' : '●'}</button>
      <button type="button" title="Remove" aria-label="Remove" onClick=${() => save(fs.filter((_, j) => j !== i))}>×</button>
    </span>`)}</div>`;
}

// Buttons that add a filter for (or against) a value.
export const FilterButtons = ({ field, value }) => html`<span class="fbtn">
  <button type="button" title="Filter for value" aria-label=${'Filter for ' + field} data-testid="filter-for" onClick=${(e) => { e.stopPropagation(); addFilter(field, value); }}>+</button>
  <button type="button" title="Filter out value" aria-label=${'Filter out ' + field} data-testid="filter-out" onClick=${(e) => { e.stopPropagation(); addFilter(field, value, true); }}>−</button>
</span>`;

// A dashboard panel: title, body; clicking a row filters.
export const Panel = ({ title, span = 1, children, testid }) =>
  html`<section class=${'panel span' + span} data-testid=${testid}><h3>${title}</h3>${children}</section>`;

export function TopList({ items, field, onPick }) {
  if (!items) return html`<div class="muted">…</div>`;
  if (!items.length) return html`<div class="muted">No results</div>`;
  const max = Math.max(...items.map((i) => i.count));
  return html`<ul class="toplist">${items.map((i) => html`<li>
    <button type="button" class="link" onClick=${() => (onPick ? onPick(i.value) : addFilter(field, i.value))} title=${'Filter ' + field + ': ' + i.value}>
      <span class="bar" style=${{ width: (100 * i.count) / max + '%' }}></span>
      <span class="label">${String(i.value)}</span><span class="count">${i.count.toLocaleString()}</span>
    </button></li>`)}</ul>`;
}

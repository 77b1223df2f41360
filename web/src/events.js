// The Discover-class events view shared by Threat Hunting, Docker and the container page:
// histogram with brush-to-zoom, field sidebar with top-5 values, a table with column chooser,
// sort and persisted widths, the document flyout, the live tail and the CSV export.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, histogram, missing, search, terms, tracked, useApi } from './api.js';
import { TimeChart } from './charts.js';
import { ErrorBox, FilterButtons, Pills, QueryBar, useRefresh } from './components.js';
import { Flyout } from './flyout.js';
import { addFilter, alertTime, composeQuery, flatten, fmtTime, getField, html, isUtc, memo, parseFilters, setParams, show, timeRange } from './lib.js';

export const HUNT_COLUMNS = ['timestamp', 'agent.name', 'rule.mitre.id', 'rule.mitre.tactic', 'rule.description', 'rule.level', 'rule.id'];
// Rows drawn at a time (as Discover does); the rest come with "Load more".
const PAGE = 50;
// A new result is drawn in two frames: the rows a screen shows first, the rest of the page right
// after, so the first rows are on screen before the whole page is laid out.
const FIRST_ROWS = 20;

// The query of the current view (typed query + pills + the module's fixed part) and time range.
export function viewQuery(params, fixed) {
  const { from, to } = timeRange(params);
  return { q: composeQuery(params.get('q'), parseFilters(params), fixed), from, to };
}

// The API counts a search exactly up to a bound (10,000 by default) and flags a larger total.
const hitsText = (data) => data.total_affected_items.toLocaleString() + (data.total_is_lower_bound ? '+' : '') + ' hits';

function useWidths() {
  const [w, setW] = useState(() => JSON.parse(localStorage.getItem('tld.widths') || '{}'));
  const set = (col, px) => {
    const next = { ...w, [col]: px };
    localStorage.setItem('tld.widths', JSON.stringify(next));
    setW(next);
  };
  return [w, set];
}

function Resizer({ col, onWidth }) {
  const down = (e) => {
    e.preventDefault();
    e.stopPropagation();
    const th = e.target.parentElement, x0 = e.clientX, w0 = th.offsetWidth;
    const move = (m) => onWidth(col, Math.max(50, w0 + m.clientX - x0));
    const up = () => { removeEventListener('mousemove', move); removeEventListener('mouseup', up); };
    addEventListener('mousemove', move);
    addEventListener('mouseup', up);
  };
  return html`<span class="resizer" onMouseDown=${down} aria-hidden="true"></span>`;
}

function cell(a, col, utc) {
  if (col === 'timestamp') return fmtTime(alertTime(a), utc);
  return show(getField(a, col));
}

// fresh: the search answer the rows come from (a new one is drawn in two frames).
function Table({ rows, cols, params, fixedCols, fresh }) {
  const [widths, setWidth] = useWidths();
  const [whole, setWhole] = useState(null); // the answer whose rows are all drawn
  const all = whole === fresh || rows.length <= FIRST_ROWS;
  useEffect(() => {
    if (all) return undefined;
    let finish;
    tracked(new Promise((r) => (finish = r))); // the browser tests wait for the whole page
    const t = setTimeout(() => { setWhole(fresh); finish(); }, 0);
    return () => { clearTimeout(t); finish(); };
  }, [fresh, all]);
  const sort = params.get('sort') || '-timestamp';
  const utc = isUtc(params);
  const sortBy = (col) => {
    const cur = sort.slice(1) === col ? sort[0] : null;
    setParams({ sort: (cur === '-' ? '+' : '-') + col }, true);
  };
  const sorted = useMemo(() => {
    const col = sort.slice(1), dir = sort[0] === '-' ? -1 : 1;
    if (col === 'timestamp') return rows; // the API sorts by time
    const key = (a) => { const v = getField(a, col); return typeof v === 'number' ? v : show(v); };
    return [...rows].sort((a, b) => (key(a) > key(b) ? dir : key(a) < key(b) ? -dir : 0));
  }, [rows, sort]);
  const open = params.get('doc');
  const [active, setActive] = useState(null); // the row under the pointer or the focus
  const remove = (c) => setParams({ cols: cols.filter((x) => x !== c).join(',') }, true);
  return html`<div class="tablewrap"><table class="grid" data-testid="events-table">
    <thead><tr><th class="narrow"></th>${cols.map((c) => html`<th style=${widths[c] ? { width: widths[c] + 'px' } : null} aria-sort=${sort.slice(1) === c ? (sort[0] === '-' ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class="link" onClick=${() => sortBy(c)} title="Sort">${c}${sort.slice(1) === c ? (sort[0] === '-' ? ' ▼' : ' ▲') : ''}</button>
      ${!fixedCols && html`<button type="button" class="link small" title="Remove column" onClick=${() => remove(c)}>×</button>`}
      <${Resizer} col=${c} onWidth=${setWidth} /></th>`)}</tr></thead>
    <tbody>${(all ? sorted : sorted.slice(0, FIRST_ROWS)).map((a) => html`<${Row} key=${a.id} a=${a} cols=${cols} utc=${utc} selected=${open === a.id} active=${active === a.id} setActive=${setActive} />`)}</tbody></table></div>`;
}

// A row draws its ± buttons only while it is under the pointer or holds the focus: a page of
// rows would otherwise carry hundreds of buttons.
const Row = memo(({ a, cols, utc, selected, active, setActive }) => html`<tr class=${selected ? 'selected' : ''} data-testid="row"
    onMouseEnter=${() => setActive(a.id)} onfocusin=${() => setActive(a.id)}>
  <td class="narrow"><button type="button" class="link" aria-label="Open document" data-testid="open-doc" onClick=${() => setParams({ doc: a.id })}>⤢</button></td>
  ${cols.map((c) => {
    const v = getField(a, c);
    const tools = active && v !== undefined && v !== null && c !== 'timestamp';
    return html`<td class="cell">${cell(a, c, utc)}${tools && html`<${FilterButtons} field=${c} value=${Array.isArray(v) ? v[0] : v} />`}</td>`;
  })}
</tr>`);

function Sidebar({ fields, cols, base, params }) {
  const [open, setOpen] = useState(null);
  const [filter, setFilter] = useState('');
  const top = useApi(() => (open ? terms({ ...base, field: open, size: 5 }) : null), [open, JSON.stringify(base)]);
  const toggleCol = (f) => {
    const next = cols.includes(f) ? cols.filter((c) => c !== f) : [...cols, f];
    setParams({ cols: next.join(',') }, true);
  };
  const shown = fields.filter((f) => f.includes(filter));
  return html`<aside class="sidebar" data-testid="sidebar" aria-label="Fields">
    <input placeholder="Search field names" value=${filter} onInput=${(e) => setFilter(e.target.value)} aria-label="Search field names" />
    <ul>${shown.map((f) => html`<li>
      <div class="fieldrow"><button type="button" class="link" onClick=${() => setOpen(open === f ? null : f)} data-testid="field" aria-expanded=${open === f}>${f}</button>
        <button type="button" class="link small" title=${cols.includes(f) ? 'Remove column' : 'Add column'} onClick=${() => toggleCol(f)} data-testid="toggle-col">${cols.includes(f) ? '−col' : '+col'}</button></div>
      ${open === f && html`<div class="topvalues" data-testid="top-values">
        ${top.error ? html`<${ErrorBox} error=${top.error} />` : !top.data ? '…' : top.data.length === 0 ? html`<span class="muted">no values</span>` :
          top.data.map((t) => html`<div class="tv"><span class="label">${String(t.value)}</span><span class="count">${t.count}</span><${FilterButtons} field=${f} value=${t.value} /></div>`)}
      </div>`}
    </li>`)}</ul></aside>`;
}

// Live tail: Server-Sent Events from /alerts/stream read with fetch (it carries the token),
// or polling /alerts for newer alerts when the API has no stream.
function useTail(on, base, onAlerts) {
  const cb = useRef(onAlerts);
  cb.current = onAlerts;
  const [mode, setMode] = useState('');
  useEffect(() => {
    if (!on) return;
    const ctl = new AbortController();
    let stop = false, timer = null, since = Date.now() - 1000, lastId = '';
    const poll = async () => {
      if (stop) return;
      try {
        const r = await search({ q: base.q, from: since, to: Date.now() + 60000, limit: 200 });
        const fresh = r.data.affected_items;
        if (fresh.length) since = Math.max(since, ...fresh.map(alertTime));
        cb.current(fresh);
      } catch (e) { /* next round */ }
      timer = setTimeout(poll, 2000);
    };
    // The stream is read again after a drop, from the last event seen (Last-Event-ID).
    const stream = async () => {
      const headers = lastId ? { 'Last-Event-ID': lastId } : {};
      const r = await call('/alerts/stream', { params: { q: base.q }, signal: ctl.signal, headers, untracked: true });
      setMode('stream');
      const rd = r.body.getReader(), dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await rd.read();
        if (done) return;
        buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let data = '', type = 'message';
          for (const line of ev.split('\n')) {
            if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).replace(/^ /, '');
            else if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
          }
          if (type === 'alert' && data) cb.current([JSON.parse(data)]);
        }
      }
    };
    (async () => {
      let streamed = false;
      while (!stop) {
        try {
          await stream();
          streamed = true;
        } catch (e) {
          if (stop) return;
          if (!streamed) {
            setMode('polling');
            return poll();
          }
        }
        await new Promise((r) => (timer = setTimeout(r, 1000)));
      }
    })();
    return () => { stop = true; ctl.abort(); clearTimeout(timer); setMode(''); };
  }, [on, base.q]);
  return mode;
}

async function exportCsv(base, cols, setMsg) {
  setMsg('Exporting…');
  try {
    const r = await call('/alerts/export.csv', { params: { q: base.q, from: base.from, to: base.to, fields: cols.join(',') } });
    const blob = await r.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'alerts.csv';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
    setMsg('');
  } catch (e) {
    setMsg(missing(e) ? 'CSV export is not available on this API yet.' : e.message);
  }
}

export function EventsView({ params, fixed = [], defaultCols = HUNT_COLUMNS, title }) {
  const base = viewQuery(params, fixed);
  const tick = useRefresh(params);
  const cols = params.get('cols') ? params.get('cols').split(',').filter(Boolean) : defaultCols;
  const sort = params.get('sort') || '-timestamp';
  const apiSort = sort === '+timestamp' ? '+timestamp' : '-timestamp';
  const [extra, setExtra] = useState({ rows: [], cursor: undefined });
  const [live, setLive] = useState(false);
  const [tail, setTail] = useState([]);
  const [msg, setMsg] = useState('');
  const key = JSON.stringify([base.q, params.get('from'), params.get('to'), apiSort, tick]);
  const res = useApi(() => search({ ...base, limit: PAGE, sort: apiSort }), [key]);
  const hist = useApi(() => histogram(base), [key]);
  useEffect(() => { setExtra({ rows: [], cursor: undefined }); setTail([]); }, [key]);
  const mode = useTail(live, base, (fresh) => setTail((t) => {
    const seen = new Set(t.map((a) => a.id));
    return [...fresh.filter((a) => !seen.has(a.id)).reverse(), ...t].slice(0, 500);
  }));
  const data = res.data && res.data.data;
  const firstIds = new Set(data ? data.affected_items.map((a) => a.id) : []);
  const rows = data ? [...tail.filter((a) => !firstIds.has(a.id)), ...data.affected_items, ...extra.rows] : [];
  const cursor = extra.cursor !== undefined ? extra.cursor : data && data.next_cursor;
  const fields = useMemo(() => {
    const s = new Set();
    rows.slice(0, 200).forEach((a) => flatten(a).forEach(([k]) => s.add(k)));
    return [...s].sort();
  }, [data, extra.rows.length]);
  const more = async () => {
    const r = await search({ ...base, limit: PAGE, sort: apiSort, after: cursor });
    setExtra({ rows: [...extra.rows, ...r.data.affected_items], cursor: r.data.next_cursor });
  };
  const zoom = (a, b) => setParams({ from: a, to: b, doc: null });
  return html`<div class="events">
    <${QueryBar} params=${params} fields=${fields} />
    <${Pills} params=${params} />
    <div class="events-body">
      <${Sidebar} fields=${fields} cols=${cols} base=${base} params=${params} />
      <div class="events-main">
        <div class="hitsbar">
          <span data-testid="hits" title=${data && data.total_is_lower_bound ? 'At least this many: the search counts exactly up to this number (the histogram counts all)' : null}>${data ? hitsText(data) : res.loading ? 'Searching…' : ''}</span>
          ${title && html`<span class="muted">${title}</span>`}
          <span class="spacer"></span>
          <button type="button" onClick=${() => { setLive(!live); setTail([]); }} aria-pressed=${live} data-testid="live">${live ? '❚❚ Pause' : '▶ Live tail'}</button>
          ${live && html`<span class="muted" data-testid="live-mode">${mode === 'stream' ? 'streaming' : mode === 'polling' ? 'polling every 2 s' : 'connecting'}${tail.length ? ` · ${tail.length} new` : ''}</span>`}
          <button type="button" onClick=${() => exportCsv(base, cols, setMsg)} data-testid="export">⇩ CSV</button>
          ${msg && html`<span class="muted" data-testid="export-msg">${msg}</span>`}
        </div>
        <${ErrorBox} error=${res.error} />
        ${hist.data && html`<${TimeChart} testid="histogram" bars=${true} utc=${isUtc(params)} from=${base.from} to=${base.to}
          interval=${hist.data.interval_ms} series=${[{ label: 'alerts', items: hist.data.affected_items }]} onZoom=${zoom} />`}
        ${data && html`<${Table} rows=${rows} cols=${cols} params=${params} fresh=${data} />`}
        ${data && data.total_affected_items === 0 && html`<div class="notice">No alerts match this query in this time range.</div>`}
        ${cursor && html`<button type="button" class="more" onClick=${more} data-testid="more">Load ${PAGE} more</button>`}
      </div>
    </div>
    ${params.get('doc') && html`<${Flyout} id=${params.get('doc')} params=${params} known=${rows.find((a) => a.id === params.get('doc'))} />`}
  </div>`;
}

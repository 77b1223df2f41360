// The document flyout: one stored alert from /alerts/{id}, as a table of fields with ± filters
// and as its JSON exactly as stored (the API returns the alerts.json line byte for byte). Opened
// from a table row, it shows the row's alert (the same stored alert, parsed) at once while the
// line is fetched; the JSON tab waits for the line itself.
import { useEffect, useState } from 'preact/hooks';
import { call, useApi } from './api.js';
import { ErrorBox, FilterButtons } from './components.js';
import { alertTime, containerOf, flatten, html, navigate, quote, setParams, show } from './lib.js';

export function Flyout({ id, params, known }) {
  const [tab, setTab] = useState('table');
  const doc = useApi(async () => {
    const text = await (await call('/alerts/' + encodeURIComponent(id))).text();
    return { text, alert: JSON.parse(text) };
  }, [id]);
  const close = () => setParams({ doc: null });
  useEffect(() => {
    const k = (e) => e.key === 'Escape' && close();
    addEventListener('keydown', k);
    return () => removeEventListener('keydown', k);
  }, []);
  const a = (doc.data && doc.data.alert) || (known && known.id === id ? known : null);
  const surrounding = () => {
    const t = alertTime(a);
    const q = [a.agent && a.agent.id ? `agent.id:${quote(a.agent.id)}` : '', a.location ? `location:${quote(a.location)}` : ''].filter(Boolean).join(' and ');
    const p = new URLSearchParams({ tab: 'events', q, from: String(t - 5 * 60e3), to: String(t + 5 * 60e3), doc: a.id });
    if (params.get('utc')) p.set('utc', params.get('utc'));
    navigate('/hunting', p);
  };
  const ctr = a && containerOf(a);
  return html`<aside class="flyout" role="dialog" aria-label="Document details" data-testid="flyout">
    <header><h2>Document ${id}</h2><button type="button" onClick=${close} aria-label="Close" data-testid="close-doc">×</button></header>
    <${ErrorBox} error=${doc.error} />
    ${a && html`<div class="flyout-actions">
      <button type="button" class="link" onClick=${surrounding} data-testid="surrounding">View surrounding documents</button>
      ${ctr && html`<button type="button" class="link" data-testid="container-link" onClick=${() => navigate('/docker/container/' + encodeURIComponent(ctr), new URLSearchParams({ from: params.get('from') || 'now-24h', to: params.get('to') || 'now' }))}>Container ${ctr}</button>`}
    </div>
    <div class="tabs" role="tablist">
      <button role="tab" aria-selected=${tab === 'table'} onClick=${() => setTab('table')}>Table</button>
      <button role="tab" aria-selected=${tab === 'json'} onClick=${() => setTab('json')} data-testid="json-tab">JSON</button>
    </div>
    ${tab === 'table' ? html`<table class="doctable" data-testid="doc-table"><tbody>${flatten(a).map(([k, v]) => html`<tr>
        <th>${k}</th><td>${show(v)}</td><td class="narrow">${v !== null && html`<${FilterButtons} field=${k} value=${Array.isArray(v) ? v[0] : v} />`}</td></tr>`)}</tbody></table>`
      : doc.data ? html`<pre class="json" data-testid="doc-json">${doc.data.text}</pre>` : html`<p class="muted">Loading the stored line…</p>`}`}
  </aside>`;
}

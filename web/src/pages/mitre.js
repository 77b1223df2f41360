// MITRE ATT&CK: tactics × techniques coloured by alert count (from /mitre/* and the terms of
// rule.mitre.id), "hide techniques with no alerts", a technique's card with its alerts, and the
// module's dashboard panels.
import { useMemo, useState } from 'preact/hooks';
import { getJson, terms, useApi } from '../api.js';
import { ErrorBox, Pills, QueryBar } from '../components.js';
import { EventsView, viewQuery } from '../events.js';
import { html, isUtc, navigate, quote, setParams } from '../lib.js';
import { Tabs } from './hunting.js';
import { Top, TopOverTime } from './panels.js';

const all = async (path) => (await getJson(path, { params: { limit: 100000 } })).data.affected_items;

function Matrix({ params }) {
  // "now" is resolved once per URL: a re-render must not start the requests again
  const base = useMemo(() => viewQuery(params, []), [params.toString()]);
  const [hide, setHide] = useState(params.get('hide') !== '0');
  const [pick, setPick] = useState(null);
  const r = useApi(async () => {
    const [tactics, techniques, counts] = await Promise.all([all('/mitre/tactics'), all('/mitre/techniques'), terms({ q: base.q, from: base.from, to: base.to, field: 'rule.mitre.id', size: 1000 })]);
    return { tactics, techniques, counts: new Map(counts.map((c) => [c.value, c.count])) };
  }, [base.q, base.from, base.to]);
  if (r.error) return html`<${ErrorBox} error=${r.error} what="/mitre/tactics" />`;
  if (!r.data) return html`<div class="muted">Loading the matrix…</div>`;
  const { tactics, techniques, counts } = r.data;
  const max = Math.max(1, ...counts.values());
  const open = (t) => navigate('/mitre', new URLSearchParams({ tab: 'events', q: `rule.mitre.id:${quote(t.external_id)}`, from: params.get('from') || 'now-24h', to: params.get('to') || 'now' }));
  return html`<div>
    <label class="check"><input type="checkbox" checked=${hide} onChange=${(e) => { setHide(e.target.checked); setParams({ hide: e.target.checked ? null : '0' }, true); }} data-testid="hide-empty" /> Hide techniques with no alerts</label>
    ${pick && html`<div class="notice" data-testid="technique-card"><b>${pick.external_id} ${pick.name}</b> · tactics: ${(pick.tactics || []).join(', ')} · ${counts.get(pick.external_id) || 0} alerts
      <button type="button" class="primary" onClick=${() => open(pick)}>Show its alerts</button>
      <a href=${'https://attack.mitre.org/techniques/' + pick.external_id.replace('.', '/') + '/'} target="_blank" rel="noopener noreferrer">ATT&CK page</a></div>`}
    <div class="matrix" data-testid="matrix">${tactics.map((ta) => {
      const list = techniques.filter((t) => (t.tactics || []).includes(ta.name) && (!hide || counts.get(t.external_id)));
      return html`<div class="tactic"><h4 title=${ta.external_id}>${ta.name}</h4>
        ${list.map((t) => { const c = counts.get(t.external_id) || 0; return html`<button type="button" class=${'tech' + (c ? ' hot' : '')} style=${c ? { background: `rgba(242, 95, 92, ${0.2 + (0.8 * c) / max})` } : null} onClick=${() => setPick(t)} title=${t.external_id} data-testid="technique">${t.name}${c ? html` <b>${c}</b>` : ''}</button>`; })}
        ${list.length === 0 && html`<div class="muted small">—</div>`}</div>`;
    })}</div></div>`;
}

function Dashboard({ params }) {
  const base = useMemo(() => viewQuery(params, ['rule.mitre.id:*']), [params.toString()]);
  const utc = isUtc(params);
  return html`<div class="dash">
    <${TopOverTime} title="Alerts evolution over time (top 5 techniques)" base=${base} field="rule.mitre.technique" span=${3} utc=${utc} />
    <${Top} title="Top tactics" base=${base} field="rule.mitre.tactic" size=${10} />
    <${Top} title="Top techniques" base=${base} field="rule.mitre.technique" size=${10} />
    <${Top} title="Top agents" base=${base} field="agent.name" />
  </div>`;
}

export function Mitre({ params }) {
  const tab = params.get('tab') || 'framework';
  return html`<div class="page" data-testid="page-mitre">
    <h1>MITRE ATT&CK</h1>
    <${Tabs} params=${params} dflt="framework" tabs=${[['framework', 'Framework'], ['dashboard', 'Dashboard'], ['events', 'Events']]} />
    ${tab === 'events' ? html`<${EventsView} params=${params} fixed=${['rule.mitre.id:*']} />` : html`<${QueryBar} params=${params} fields=${[]} /><${Pills} params=${params} />
      ${tab === 'dashboard' ? html`<${Dashboard} params=${params} />` : html`<${Matrix} params=${params} />`}`}
  </div>`;
}

// Threat Hunting: the Dashboard tab (Wazuh's panels: KPIs, level evolution, top MITRE
// techniques, top agents, agents over time) and the Events tab (events.js).
import { useMemo } from 'preact/hooks';
import { EventsView, viewQuery } from '../events.js';
import { Pills, QueryBar, useRefresh } from '../components.js';
import { html, isUtc, setParams } from '../lib.js';
import { Kpi, Top, TopOverTime } from './panels.js';

export const AUTH_FAIL = 'rule.groups:(win_authentication_failed or authentication_failed or authentication_failures)';
export const AUTH_OK = 'rule.groups:authentication_success';

export function Tabs({ params, tabs, dflt }) {
  const cur = params.get('tab') || dflt;
  return html`<nav class="tabs" role="tablist">${tabs.map(([k, l]) => html`<button role="tab" aria-selected=${cur === k} data-testid=${'tab-' + k} onClick=${() => setParams({ tab: k, doc: null })}>${l}</button>`)}</nav>`;
}

function Dashboard({ params }) {
  const tick = useRefresh(params);
  const base = useMemo(() => viewQuery(params, []), [params.toString(), tick]);
  const utc = isUtc(params);
  return html`<div>
    <${QueryBar} params=${params} fields=${[]} />
    <${Pills} params=${params} />
    <div class="dash" key=${tick}>
      <${Kpi} title="Total" base=${base} testid="kpi-total" />
      <${Kpi} title="Level 12 or above alerts" base=${base} extra="rule.level >= 12" tone="warn" testid="kpi-level12" />
      <${Kpi} title="Authentication failure" base=${base} extra=${AUTH_FAIL} tone="bad" filter=${['rule.groups', 'authentication_failed']} testid="kpi-authfail" />
      <${Kpi} title="Authentication success" base=${base} extra=${AUTH_OK} tone="good" filter=${['rule.groups', 'authentication_success']} testid="kpi-authok" />
      <${TopOverTime} title="Alert level evolution (top 10 levels)" base=${base} field="rule.level" size=${10} span=${2} utc=${utc} testid="level-evolution" />
      <${Top} title="Top 10 MITRE ATT&CK techniques" base=${base} field="rule.mitre.technique" size=${10} span=${2} testid="top-mitre" />
      <${Top} title="Top 5 agents" base=${base} field="agent.name" testid="top-agents" />
      <${TopOverTime} title="Alerts evolution: top 5 agents" base=${base} field="agent.name" span=${3} utc=${utc} bars=${true} testid="agents-evolution" />
    </div></div>`;
}

export function Hunting({ params }) {
  const tab = params.get('tab') || 'events';
  return html`<div class="page" data-testid="page-hunting">
    <h1>Threat Hunting</h1>
    <${Tabs} params=${params} dflt="events" tabs=${[['dashboard', 'Dashboard'], ['events', 'Events']]} />
    ${tab === 'dashboard' ? html`<${Dashboard} params=${params} />` : html`<${EventsView} params=${params} />`}
  </div>`;
}

// Agents: status summary and table from /agents (when the API has it), the agents seen in the
// alerts meanwhile, an agent's page (its alerts), and the commands that enroll a new agent with
// this manager.
import { getJson, terms, useApi } from '../api.js';
import { ErrorBox, Panel, TopList } from '../components.js';
import { EventsView } from '../events.js';
import { html, navigate, quote, resolveTime } from '../lib.js';

function Deploy() {
  const host = location.hostname;
  return html`<${Panel} title="Deploy a new agent" span=${3} testid="deploy">
    <p>On the new agent's host, with the threatlockdown-agent package installed (docs/install.md;
      from a build: build/bin/tld-agent), and this manager's enrollment password, kept in${' '}<code>ROOT/etc/authd.pass</code>, copied to a file there:</p>
    <pre class="cmd">tld-agent enroll -r /var/threatlockdown-agent --manager ${host}:1515 --name NAME --password-file FILE</pre>
    <p>then give the agent this manager in its configuration and start it:</p>
    <pre class="cmd">${'<client><server><address>' + host + '</address></server></client>'}</pre></${Panel}>`;
}

export function Agents({ params }) {
  const summary = useApi(() => getJson('/agents/summary/status'), []);
  const list = useApi(() => getJson('/agents', { params: { limit: 500 } }), []);
  const seen = useApi(() => terms({ field: 'agent.name', size: 50, from: resolveTime('now-30d'), to: Date.now() + 1 }), []);
  const items = list.data && list.data.data.affected_items;
  const s = summary.data && summary.data.data && (summary.data.data.connection || summary.data.data);
  return html`<div class="page" data-testid="page-agents"><h1>Agents</h1><div class="dash">
    <${Panel} title="Status" testid="agent-status">${s ? html`<ul class="kv">${Object.entries(s).map(([k, v]) => html`<li><b>${k}</b> ${String(v)}</li>`)}</ul>` : html`<${ErrorBox} error=${summary.error} what="/agents/summary/status" />`}</${Panel}>
    <${Panel} title="Agents seen in alerts (30 days)" span=${2} testid="agents-seen"><${ErrorBox} error=${seen.error} />
      <${TopList} items=${seen.data} onPick=${(v) => navigate('/agents/' + encodeURIComponent(v), new URLSearchParams({ from: 'now-24h' }))} /></${Panel}>
    <${Panel} title="Agents" span=${3} testid="agents-table">
      ${items ? html`<table class="grid"><thead><tr>${['id', 'name', 'ip', 'os', 'version', 'dateAdd', 'lastKeepAlive', 'status'].map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${items.map((a) => html`<tr><td>${a.id}</td><td><button type="button" class="link" onClick=${() => navigate('/agents/' + encodeURIComponent(a.name), new URLSearchParams({ from: 'now-24h' }))}>${a.name}</button></td>
          <td>${a.ip}</td><td>${a.os ? a.os.name || a.os.platform : ''}</td><td>${a.version}</td><td>${a.dateAdd}</td><td>${a.lastKeepAlive}</td><td>${a.status}</td></tr>`)}</tbody></table>`
        : html`<${ErrorBox} error=${list.error} what="/agents" />`}</${Panel}>
    <${Deploy} /></div></div>`;
}

export function Agent({ params, name }) {
  return html`<div class="page" data-testid="page-agent"><h1>Agent <code>${name}</code></h1>
    <${EventsView} params=${params} fixed=${[`agent.name:${quote(name)}`]} /></div>`;
}

// Health: the manager's statistics (/manager/stats, rewritten every second), turned into
// rates between two readings, with the processes' status and the installation's facts.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, useApi } from '../api.js';
import { ErrorBox, Panel } from '../components.js';
import { flatten, html, show } from '../lib.js';

function useStats() {
  const [st, setSt] = useState({ cur: null, rates: {}, error: null });
  const prev = useRef(null);
  useEffect(() => {
    let live = true;
    const read = async () => {
      try {
        const r = await getJson('/manager/stats');
        const cur = r.data.affected_items ? r.data.affected_items[0] : r.data;
        const now = Date.now(), rates = {};
        if (prev.current) {
          const dt = (now - prev.current.t) / 1000;
          const old = new Map(flatten(prev.current.v));
          for (const [k, v] of flatten(cur)) if (typeof v === 'number' && typeof old.get(k) === 'number' && dt > 0) rates[k] = (v - old.get(k)) / dt;
        }
        prev.current = { t: now, v: cur };
        live && setSt({ cur, rates, error: null });
      } catch (e) {
        live && setSt((s) => ({ ...s, error: e }));
      }
    };
    read();
    const id = setInterval(read, 3000);
    return () => { live = false; clearInterval(id); };
  }, []);
  return st;
}

export function Health() {
  const st = useStats();
  const status = useApi(() => getJson('/manager/status'), []);
  const info = useApi(() => getJson('/manager/info'), []);
  const rows = st.cur ? flatten(st.cur) : [];
  const pick = (re) => rows.filter(([k, v]) => re.test(k) && (typeof v === 'number' || typeof v === 'boolean')).map(([k, v]) => [k, v]);
  const Card = ({ title, list, testid }) => html`<${Panel} title=${title} testid=${testid}>${list.length ? html`<ul class="kv">${list.map(([k, v]) => html`<li><b>${k}</b> ${typeof v === 'number' ? v.toLocaleString() : String(v)}${st.rates[k] ? html` <span class="muted">(${st.rates[k].toFixed(1)}/s)</span>` : ''}</li>`)}</ul>` : html`<span class="muted">—</span>`}</${Panel}>`;
  const kv = (d) => d && html`<ul class="kv">${flatten(d.data.affected_items ? d.data.affected_items[0] : d.data).map(([k, v]) => html`<li><b>${k}</b> ${show(v)}</li>`)}</ul>`;
  return html`<div class="page" data-testid="page-health"><h1>Health</h1>
    <${ErrorBox} error=${st.error && st.error.status === 503 ? { message: 'The manager has not written statistics yet (is it running?).' } : st.error} what="/manager/stats" />
    <div class="dash">
      <${Card} title="Analysis: events and alerts" list=${pick(/^analysis\./)} testid="health-events" />
      <${Card} title="Store (lag)" list=${pick(/^store\./)} testid="health-store" />
      <${Card} title="Journal (queue)" list=${pick(/^journal\./)} testid="health-queues" />
      <${Card} title="Agents: connections" list=${pick(/^(remote|enrollment)\./)} testid="health-agents" />
      <${Card} title="Local collection" list=${pick(/^local\./)} testid="health-local" />
      <${Panel} title="Processes">${kv(status.data)}<${ErrorBox} error=${status.error} /></${Panel}>
      <${Panel} title="Manager" span=${2}>${kv(info.data)}<${ErrorBox} error=${info.error} /></${Panel}>
    </div></div>`;
}

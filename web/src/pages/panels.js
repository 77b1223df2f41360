// Dashboard panels shared by the modules: a KPI (a count), a top-N list, and "top N values of a
// field over time" (terms, then one histogram per value). Each one filters the view on click.
import { count, histogram, terms, useApi } from '../api.js';
import { TimeChart } from '../charts.js';
import { ErrorBox, Panel, TopList } from '../components.js';
import { addFilter, html, quote, setParams } from '../lib.js';

export function Kpi({ title, base, extra, filter, testid, tone }) {
  const q = [base.q, extra].filter(Boolean).join(' and ');
  const r = useApi(() => count({ q, from: base.from, to: base.to }), [q, base.from, base.to]);
  const go = () => {
    if (filter) addFilter(filter[0], filter[1]);
    else if (extra) setParams({ q: extra });
    setParams({ tab: 'events' });
  };
  return html`<${Panel} title=${title} testid=${testid}>
    <button type="button" class=${'kpi ' + (tone || '')} onClick=${go} title="Show these events">${r.error ? '—' : r.data === null ? '…' : r.data.toLocaleString()}</button>
    <${ErrorBox} error=${r.error} /></${Panel}>`;
}

export function Top({ title, base, field, size = 5, span = 1, testid }) {
  const r = useApi(() => terms({ q: base.q, from: base.from, to: base.to, field, size }), [base.q, base.from, base.to, field]);
  return html`<${Panel} title=${title} span=${span} testid=${testid}><${ErrorBox} error=${r.error} />
    <${TopList} items=${r.data} field=${field} /></${Panel}>`;
}

export function TopOverTime({ title, base, field, size = 5, span = 2, utc, bars, testid }) {
  const r = useApi(async () => {
    const top = await terms({ q: base.q, from: base.from, to: base.to, field, size });
    const series = await Promise.all(top.map(async (t) => {
      const h = await histogram({ q: [base.q, `${field}:${quote(t.value)}`].filter(Boolean).join(' and '), from: base.from, to: base.to });
      return { label: t.value, items: h.affected_items, interval: h.interval_ms };
    }));
    return series;
  }, [base.q, base.from, base.to, field]);
  const zoom = (a, b) => setParams({ from: a, to: b });
  return html`<${Panel} title=${title} span=${span} testid=${testid}><${ErrorBox} error=${r.error} />
    ${r.data && (r.data.length ? html`<${TimeChart} series=${r.data} from=${base.from} to=${base.to} interval=${r.data[0].interval} utc=${utc} bars=${bars} onZoom=${zoom} />` : html`<div class="muted">No results</div>`)}
  </${Panel}>`;
}

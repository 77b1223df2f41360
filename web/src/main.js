// The dashboard's entry: the shell (navigation, UTC toggle, logout), the router over the URL
// path under /app, and the login dialog drawn over the page whenever the API asks for a token.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { hasToken, logout, watchAuth, getJson } from './api.js';
import { LoginDialog } from './components.js';
import { html, navigate, setParams, useLocation } from './lib.js';
import { Agent, Agents } from './pages/agents.js';
import { Container, Docker } from './pages/docker.js';
import { Health } from './pages/health.js';
import { Hunting } from './pages/hunting.js';
import { Mitre } from './pages/mitre.js';
import { Ruleset } from './pages/ruleset.js';

const NAV = [
  ['/hunting', 'Threat Hunting'], ['/docker', 'Docker'], ['/mitre', 'MITRE ATT&CK'],
  ['/agents', 'Agents'], ['/ruleset', 'Ruleset'], ['/health', 'Health'],
];

// Moving between modules keeps the time range, the UTC choice and the refresh interval.
function go(path, params) {
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'utc', 'refresh']) if (params.get(k)) p.set(k, params.get(k));
  navigate(path, p);
}

function Page({ loc }) {
  const { path, params } = loc;
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (seg[0]) {
    case 'hunting': return html`<${Hunting} params=${params} />`;
    case 'docker': return seg[1] === 'container' && seg[2] ? html`<${Container} params=${params} name=${seg[2]} />` : html`<${Docker} params=${params} />`;
    case 'mitre': return html`<${Mitre} params=${params} />`;
    case 'agents': return seg[1] ? html`<${Agent} params=${params} name=${seg[1]} />` : html`<${Agents} params=${params} />`;
    case 'ruleset': return html`<${Ruleset} params=${params} />`;
    case 'health': return html`<${Health} params=${params} />`;
    default: return html`<div class="page"><h1>Not found</h1><p>No page at <code>${path}</code>.</p></div>`;
  }
}

// The name typed at login is shown at once; the API's own answer comes when the browser is idle,
// so it does not compete with the page's first requests.
function Who() {
  const [name, setName] = useState(() => sessionStorage.getItem('tld.user') || '');
  useEffect(() => {
    const ask = () => getJson('/security/users/me').then((r) => {
      const me = r.data.affected_items ? r.data.affected_items[0] : r.data;
      setName(me.username || me.name || '');
    }, () => {});
    const id = requestIdleCallback(ask, { timeout: 2000 });
    return () => cancelIdleCallback(id);
  }, []);
  return html`<span class="muted" data-testid="user">${name}</span>`;
}

function App() {
  const loc = useLocation();
  const [needLogin, setNeedLogin] = useState(!hasToken());
  // Once shown, the page stays under the login dialog when a token expires: nothing is lost.
  const [ever, setEver] = useState(hasToken());
  useEffect(() => watchAuth((w) => { setNeedLogin(w); if (!w) setEver(true); }), []);
  useEffect(() => { if (loc.path === '/') navigate('/hunting', loc.params, true); }, [loc.path]);
  const utc = loc.params.get('utc') === '1';
  return html`<div class="app">
    <header class="top">
      <span class="brand">ThreatLockDown</span>
      <nav class="main" aria-label="Modules">${NAV.map(([p, l]) => html`<a href=${'/app' + p} aria-current=${loc.path.startsWith(p) ? 'page' : null} data-testid=${'nav-' + p.slice(1)}
        onClick=${(e) => { if (e.ctrlKey || e.metaKey || e.shiftKey) return; e.preventDefault(); go(p, loc.params); }}>${l}</a>`)}</nav>
      <span class="spacer"></span>
      <label class="check" title="Show times in UTC instead of the browser's zone"><input type="checkbox" checked=${utc} onChange=${(e) => setParams({ utc: e.target.checked ? '1' : null }, true)} data-testid="utc" /> UTC</label>
      ${!needLogin && html`<${Who} />`}
      <button type="button" onClick=${() => logout()} data-testid="logout">Log out</button>
    </header>
    <main>${ever ? html`<${Page} loc=${loc} />` : null}</main>
    ${needLogin && html`<${LoginDialog} />`}
  </div>`;
}

render(html`<${App} />`, document.getElementById('root'));

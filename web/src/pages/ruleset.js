// Ruleset: search rules and decoders (/rules, /decoders), a rule file's XML, editing a local
// file with the API's validation errors shown at their line (PUT /rules/files/{file}), a hot
// reload, and the logtest panel (PUT /logtest) with each phase of a pasted log line.
import { useRef, useState } from 'preact/hooks';
import { call, getJson, useApi } from '../api.js';
import { ErrorBox, Panel } from '../components.js';
import { html, setParams } from '../lib.js';
import { Tabs } from './hunting.js';

function List({ params, kind }) {
  const search = params.get('rs') || '';
  const r = useApi(() => getJson('/' + kind, { params: { search, limit: 500 } }), [kind, search]);
  const items = r.data && r.data.data.affected_items;
  return html`<div>
    <input class="wide" placeholder=${'Search ' + kind + ' (id, description, group, file)'} value=${search} onInput=${(e) => setParams({ rs: e.target.value }, true)} aria-label=${'Search ' + kind} />
    <${ErrorBox} error=${r.error} what=${'/' + kind} />
    ${items && html`<table class="grid" data-testid="rules-table"><thead><tr><th>id</th><th>description</th><th>groups</th><th>file</th><th>MITRE</th><th>level</th></tr></thead>
      <tbody>${items.map((x) => html`<tr><td>${x.id ?? x.name}</td><td>${x.description || x.name || ''}</td><td>${(x.groups || []).join(', ')}</td>
        <td><button type="button" class="link" onClick=${() => setParams({ file: x.filename })}>${x.filename}</button></td>
        <td>${x.mitre ? (x.mitre.id || x.mitre).toString() : ''}</td><td>${x.level ?? ''}</td></tr>`)}</tbody></table>`}</div>`;
}

// The textarea's selection on one line (1-based), scrolled into view: where the error is.
function selectLine(area, line) {
  const lines = area.value.split('\n');
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] || '').length);
  area.scrollTop = Math.max(0, (line - 3) * (area.scrollHeight / Math.max(1, lines.length)));
}

function FileEditor({ params }) {
  const file = params.get('file');
  const kind = params.get('tab') === 'decoders' ? 'decoders' : 'rules';
  const [text, setText] = useState(null);
  const [msg, setMsg] = useState(null);
  const area = useRef(null);
  const r = useApi(async () => {
    setText(null);
    return file ? (await call(`/${kind}/files/${encodeURIComponent(file)}`, { params: { raw: 'true' } })).text() : null;
  }, [file, kind]);
  if (!file) return null;
  const save = async () => {
    setMsg(null);
    try {
      await call(`/${kind}/files/${encodeURIComponent(file)}`, { method: 'PUT', body: text ?? r.data, params: { overwrite: 'true' }, headers: { 'Content-Type': 'application/octet-stream' } });
      await call('/manager/analysisd/reload', { method: 'PUT' });
      setMsg({ ok: true, text: 'Saved and reloaded.' });
    } catch (e) {
      setMsg({ ok: false, text: e.message, errors: e.errors || [] });
      const at = (e.errors || []).find((x) => x.line > 0);
      if (at && area.current) selectLine(area.current, at.line);
    }
  };
  const located = msg && !msg.ok ? msg.errors.filter((x) => x.line > 0) : [];
  return html`<${Panel} title=${'File ' + file} span=${3} testid="file-editor"><${ErrorBox} error=${r.error} what=${`/${kind}/files/{file}`} />
    ${r.data !== null && r.data !== undefined && html`<textarea ref=${area} class="code" rows="24" value=${text ?? r.data} onInput=${(e) => setText(e.target.value)} spellcheck="false" aria-label="File contents" data-testid="file-text"></textarea>
      <button type="button" class="primary" onClick=${save} data-testid="file-save">Save and reload</button>
      ${msg && html`<div class=${msg.ok ? 'notice' : 'error'} role="status" data-testid="file-status">${located.length ? html`<ul class="errlines">${located.map((x) => html`<li>
          <button type="button" class="link" onClick=${() => area.current && selectLine(area.current, x.line)} data-testid="error-line">Line ${x.line}</button>${x.element ? html` <code>&lt;${x.element}&gt;</code>` : ''}: ${x.message}</li>`)}</ul>` : msg.text}</div>`}`}</${Panel}>`;
}

function Logtest() {
  const [out, setOut] = useState(null);
  const run = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const r = await getJson('/logtest', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ event: f.get('event'), log_format: 'syslog', location: f.get('location') || 'logtest' }) });
      setOut({ data: r.data });
    } catch (x) {
      setOut({ error: x });
    }
  };
  const o = out && out.data && (out.data.output || out.data);
  return html`<${Panel} title="Logtest" span=${3} testid="logtest">
    <form onSubmit=${run} class="logtest"><textarea name="event" rows="3" class="code" placeholder="Paste one log line" aria-label="Log line"></textarea>
      <input name="location" placeholder="location (optional)" aria-label="Location" /><button type="submit" class="primary">Test</button></form>
    ${out && out.error && html`<${ErrorBox} error=${out.error} what="PUT /logtest" />`}
    ${o && html`<div class="phases">
      <h4>Pre-decoding</h4><pre class="json">${JSON.stringify(o.predecoder || {}, null, 2)}</pre>
      <h4>Decoding</h4><pre class="json">${JSON.stringify({ decoder: o.decoder, data: o.data }, null, 2)}</pre>
      <h4>Rule matching</h4><pre class="json">${JSON.stringify(o.rule || 'no rule matched', null, 2)}</pre></div>`}</${Panel}>`;
}

export function Ruleset({ params }) {
  const tab = params.get('tab') || 'rules';
  return html`<div class="page" data-testid="page-ruleset"><h1>Ruleset</h1>
    <${Tabs} params=${params} dflt="rules" tabs=${[['rules', 'Rules'], ['decoders', 'Decoders'], ['logtest', 'Logtest']]} />
    ${tab === 'logtest' ? html`<${Logtest} />` : html`<${List} params=${params} kind=${tab} /><${FileEditor} params=${params} />`}</div>`;
}

// Docker: the dashboard (top images, top actions, events by type over time, events by agent,
// type, action and rule), the Events tab with Docker's columns, and a container's page: all the
// alerts that name it (Docker events, posture and log alerts) on one timeline.
import { useMemo } from 'preact/hooks';
import { EventsView, viewQuery } from '../events.js';
import { Pills, QueryBar, useRefresh } from '../components.js';
import { html, isUtc, quote } from '../lib.js';
import { Tabs } from './hunting.js';
import { Top, TopOverTime } from './panels.js';

export const DOCKER_FIXED = ['rule.groups:docker'];
const DOCKER_COLS = ['timestamp', 'agent.name', 'data.docker.Actor.Attributes.image', 'data.docker.Type', 'data.docker.Action', 'data.docker.Actor.Attributes.name', 'rule.description', 'rule.level'];

function Dashboard({ params }) {
  const tick = useRefresh(params);
  const base = useMemo(() => viewQuery(params, DOCKER_FIXED), [params.toString(), tick]);
  const utc = isUtc(params);
  return html`<div>
    <${QueryBar} params=${params} fields=${[]} />
    <${Pills} params=${params} />
    <div class="dash" key=${tick}>
      <${Top} title="Top 5 images" base=${base} field="data.docker.Actor.Attributes.image" testid="top-images" />
      <${Top} title="Top 5 events" base=${base} field="data.docker.Action" testid="top-actions" />
      <${Top} title="Top 5 containers" base=${base} field="data.docker.Actor.Attributes.name" testid="top-containers" />
      <${TopOverTime} title="Events by type over time" base=${base} field="data.docker.Type" span=${3} utc=${utc} bars=${true} testid="types-over-time" />
      <${Top} title="Events by agent" base=${base} field="agent.name" testid="by-agent" />
      <${Top} title="Events by type" base=${base} field="data.docker.Type" testid="by-type" />
      <${Top} title="Events by rule" base=${base} field="rule.description" testid="by-rule" />
    </div></div>`;
}

export function Docker({ params }) {
  const tab = params.get('tab') || 'dashboard';
  return html`<div class="page" data-testid="page-docker">
    <h1>Docker</h1>
    <${Tabs} params=${params} dflt="dashboard" tabs=${[['dashboard', 'Dashboard'], ['events', 'Events']]} />
    ${tab === 'dashboard' ? html`<${Dashboard} params=${params} />` : html`<${EventsView} params=${params} fixed=${DOCKER_FIXED} defaultCols=${DOCKER_COLS} />`}
  </div>`;
}

export function Container({ params, name }) {
  const fixed = [`(data.docker.Actor.Attributes.name:${quote(name)} or container.name:${quote(name)})`];
  return html`<div class="page" data-testid="page-container">
    <h1>Container <code>${name}</code></h1>
    <p class="muted">Docker events, posture alerts and log alerts that name this container.</p>
    <${EventsView} params=${params} fixed=${fixed} defaultCols=${['timestamp', 'data.docker.Action', 'rule.groups', 'rule.description', 'rule.level', 'rule.id']} />
  </div>`;
}

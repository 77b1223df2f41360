// Time charts on uPlot: a histogram with drag-to-zoom (the selection becomes the time range) and
// a multi-series chart for "top N over time" panels. Buckets missing from the API's answer are
// drawn as zero so series line up.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { tracked } from './api.js';
import { html } from './lib.js';

// uPlot is fetched and compiled with the first chart, apart from the page's own code: a table
// does not wait for the charts' library.
let uplot = null;
const loadUplot = () => (uplot ??= tracked(import('uplot').then((m) => m.default)));

const COLORS = ['#4aa3ff', '#f5a524', '#3ccf91', '#f25f5c', '#b37feb', '#00c2c7', '#ffd166', '#ef476f', '#8ac926', '#c0c0c0'];

// series: [{label, items:[{timestamp,count}]}], interval in ms.
export function align(series, from, to, interval) {
  const set = new Set();
  const iv = interval || 60000;
  for (let t = Math.floor(from / iv) * iv; t < to && set.size < 2000; t += iv) set.add(t);
  series.forEach((s) => s.items.forEach((i) => set.add(i.timestamp)));
  const xs = [...set].sort((a, b) => a - b);
  const idx = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y = new Array(xs.length).fill(0);
    s.items.forEach((i) => (y[idx.get(i.timestamp)] = i.count));
    return y;
  });
  return [xs.map((t) => t / 1000), ...ys];
}

export function TimeChart({ series, from, to, interval, utc, bars = false, height = 180, onZoom, testid }) {
  const el = useRef(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const data = align(series, from, to, interval);
    let cancelled = false;
    const opts = (uPlot) => ({
      width: Math.max(200, node.clientWidth || 600),
      height,
      tzDate: (ts) => (utc ? uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : new Date(ts * 1e3)),
      legend: { show: series.length > 1 },
      cursor: { drag: { x: !!onZoom, y: false, setScale: false } },
      scales: { x: { time: true, range: [from / 1000, to / 1000] } },
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' } },
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' }, size: 50 },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: String(s.label),
          stroke: COLORS[i % COLORS.length],
          fill: bars ? COLORS[i % COLORS.length] + 'cc' : COLORS[i % COLORS.length] + '22',
          width: bars ? 0 : 2,
          paths: bars ? uPlot.paths.bars({ size: [0.9, 40] }) : undefined,
          points: { show: false },
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (!onZoom || u.select.width < 3) return;
            const a = u.posToVal(u.select.left, 'x') * 1000;
            const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
            u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
            onZoom(Math.floor(a), Math.ceil(b));
          },
        ],
      },
    });
    let plot = null;
    const resize = () => plot && plot.setSize({ width: Math.max(200, node.clientWidth), height });
    loadUplot().then((uPlot) => {
      if (cancelled) return;
      plot = new uPlot(opts(uPlot), data, node);
      addEventListener('resize', resize);
    });
    return () => {
      cancelled = true;
      removeEventListener('resize', resize);
      if (plot) plot.destroy();
    };
  }, [JSON.stringify(series), from, to, interval, utc, bars, height]);
  return html`<div class="chart" ref=${el} data-testid=${testid}></div>`;
}

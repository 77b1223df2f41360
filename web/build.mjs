// Builds the dashboard into web/dist: the JavaScript entry, its on-demand chunks and one CSS
// bundle with content-hashed names under assets/, index.html naming them (no inline script, so the CSP can forbid it),
// and a gzip twin of each text file that tld-api sends to browsers that accept it.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const r = await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true, minify: true, format: 'esm', target: ['chrome110', 'firefox110', 'safari16'],
  // Code loaded on demand (the charts' library) goes into chunks of its own.
  splitting: true, chunkNames: 'chunk-[hash]',
  outdir: join(dist, 'assets'), entryNames: '[name]-[hash]', metafile: true, legalComments: 'none',
  logLevel: 'warning',
});
const name = (p) => p.split('/').pop();
const outputs = Object.entries(r.metafile.outputs);
const js = name(outputs.find(([p, o]) => o.entryPoint && p.endsWith('.js'))[0]);
const css = name(outputs.find(([p]) => p.endsWith('.css'))[0]);
const index = readFileSync(join(here, 'index.html'), 'utf8').replace('{{JS}}', js).replace('{{CSS}}', css);
writeFileSync(join(dist, 'index.html'), index);

let raw = 0, gz = 0;
for (const f of [...readdirSync(join(dist, 'assets')).map((f) => 'assets/' + f), 'index.html']) {
  const body = readFileSync(join(dist, f));
  const z = gzipSync(body, { level: 9 });
  writeFileSync(join(dist, f + '.gz'), z);
  if (f.startsWith('assets/')) { raw += body.length; gz += z.length; }
}
const sizes = { js, css, bytes: raw, gzip_bytes: gz };
writeFileSync(join(dist, 'sizes.json'), JSON.stringify(sizes) + '\n');
console.log(`web: dist/assets/${js}, ${css}: ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);

// Refinement-step latency of several model folders on this machine, interleaved so they share the
// machine's noise: a 16-slot block (+ the last context token) against a cached context.
//   node scripts/step-latency.mjs MODEL_DIR [MODEL_DIR ...] [--context 450] [--reps 15]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const opt = (n, d) => (args.indexOf(n) >= 0 ? Number(args[args.indexOf(n) + 1]) : d);
const P = opt('--context', 450);
const reps = opt('--reps', 15);
const dirs = args.filter((a, i) => !a.startsWith('--') && !['--context', '--reps'].includes(args[i - 1]));
const require = createRequire(import.meta.url);
require('tsx/cjs');
const root = path.join(import.meta.dirname, '..');
const { ModelSession } = require(path.join(root, 'engine', 'src', 'session.ts'));
const { CodeTokenizer } = require(path.join(root, 'engine', 'src', 'tokenizer.ts'));
const text = fs.readFileSync(path.join(root, 'training', 'data.py'), 'utf8').repeat(3);
const runs = [];
for (const dir of dirs) {
  const conf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const m = conf.model;
  const s = await ModelSession.create(path.join(dir, 'model.onnx'), { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab }, { threads: 2 });
  const ids = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens).encode(text).slice(0, P);
  const kv = await s.extend(ids, s.emptyKv());
  runs.push({ dir, params: conf.params, s, kv, mask: conf.special_tokens.mask, mid: conf.special_tokens.mid, t: [] });
}
for (let r = 0; r < reps; r++) {
  for (const x of runs) {
    const t0 = performance.now();
    await x.s.step([x.mid, ...new Array(16).fill(x.mask)], x.kv);
    x.t.push(performance.now() - t0);
  }
}
for (const x of runs) {
  const a = x.t.sort((p, q) => p - q);
  console.log(JSON.stringify({ model: x.dir, params_m: +(x.params / 1e6).toFixed(1), context: P, step_ms_median: +a[Math.floor(a.length / 2)].toFixed(1), step_ms_min: +a[0].toFixed(1) }));
}

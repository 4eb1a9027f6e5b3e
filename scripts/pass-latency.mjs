// Latency of one draft-and-verify pass (ModelSession.verify) over N new tokens against a cached
// context, for N = 1 (one token per pass, the 'sequential' baseline) up to 33, and of appending
// the accepted keys/values to the cache; medians over --reps rounds, sizes interleaved.
//   node scripts/pass-latency.mjs [MODEL_DIR] [--context 450] [--reps 25]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { measureArgs, require, root } from './measure-args.mjs';

// default: the shipped model, found as the server finds it
const { opts, dir } = measureArgs({ '--context': 450, '--reps': 25 });
const P = opts['--context'];
const reps = opts['--reps'];
const { ModelSession, appendKv } = require(path.join(root, 'engine', 'src', 'session.ts'));
const { CodeTokenizer } = require(path.join(root, 'engine', 'src', 'tokenizer.ts'));
const conf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const m = conf.model;
const s = await ModelSession.create(path.join(dir, 'model.onnx'), { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab }, { threads: 2 });
const text = fs.readFileSync(path.join(root, 'training', 'data.py'), 'utf8').repeat(3);
const ids = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens).encode(text).slice(0, P);
const kv = await s.extend(ids, s.emptyKv());
const Ns = [1, 2, 4, 8, 13, 17, 24, 29, 33];
const t = Object.fromEntries(Ns.map((n) => [n, []]));
const tc = [];
for (let r = 0; r < reps; r++) {
  for (const n of Ns) {
    const toks = ids.slice(100, 100 + n);
    const t0 = performance.now();
    const o = await s.verify(toks, Math.min(n, 5), kv);
    t[n].push(performance.now() - t0);
    if (n === 8) {
      const t1 = performance.now();
      appendKv(kv, o.newK, o.newV, n, s.dims, 5);
      tc.push(performance.now() - t1);
    }
  }
}
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
const out = { model: dir, context: P, ...Object.fromEntries(Ns.map((n) => [`pass_${n}_ms`, +med(t[n]).toFixed(2)])), append_kv_ms: +med(tc).toFixed(2) };
console.log(JSON.stringify(out));

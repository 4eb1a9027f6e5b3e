// Memorisation check: the model's next-token loss on documents it was trained on against documents
// of the same distribution it never saw (the npm corpus is split by package: js_train / js_val).
// If training has started to memorise, the training documents score clearly lower; if both sit
// together, the model is short of capacity, not of fresh data.
//   node scripts/train-val-nll.mjs MODEL_DIR NAME=CORPUS.jsonl.xz [NAME=CORPUS.jsonl.xz ...]
//        [--docs 300] [--window 512] [--seed 7] [--json]
// Each document drawn (seeded, uniformly over the file's records, at least 64 tokens) gives one
// window of up to --window tokens from a random offset, laid out as the training's prefix-only
// sequences (`<suf> <pre> window`); one causal pass scores every token after the first 16 of the
// window. Prints, per corpus, the mean loss per token (nats) and the mean of per-document means, and
// each pair's difference with a 95 % interval from a bootstrap over packages (documents of one
// package are alike, so resampling documents alone would make the interval too narrow).
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const dir = args[0];
const sets = args.slice(1).filter((a, i, all) => a.includes('=') && !(all[i - 1] ?? '').startsWith('--'));
if (!dir || sets.length === 0) {
  console.error('usage: node scripts/train-val-nll.mjs MODEL_DIR NAME=CORPUS.jsonl.xz [...] [--docs N] [--window W] [--seed S] [--json]');
  process.exit(2);
}
const nDocs = Number(opt('--docs', 300));
const window = Number(opt('--window', 512));
const skip = 16;
const conf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const require = createRequire(import.meta.url);
require('tsx/cjs');
const { CodeTokenizer } = require(path.join(import.meta.dirname, '..', 'engine', 'src', 'tokenizer.ts'));
const tok = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens);
const sp = conf.special_tokens;
const { layers, heads, d } = conf.model;
const dh = d / heads;
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false,
});

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/**
 * A uniform sample of `k` records (reservoir sampling over the decompressed stream: a corpus can be
 * larger than the longest string Node holds), in random order.
 */
async function sample(file, k, rnd) {
  const xz = spawn('xz', ['-dc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pool = [];
  let records = 0;
  for await (const line of readline.createInterface({ input: xz.stdout, crlfDelay: Infinity })) {
    if (!line) continue;
    records++;
    if (pool.length < k) pool.push(line);
    else {
      const j = Math.floor(rnd() * records);
      if (j < k) pool[j] = line;
    }
  }
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return { lines: pool, records };
}

/** Sum of -log p(next token) over the window's tokens after `skip`, and how many. */
async function score(window) {
  const ids = [sp.suf, sp.pre, ...window];
  const n = ids.length;
  const mask = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) mask[i * n + j] = 1;
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
    new_mask: new ort.Tensor('bool', mask, [n, n]),
  };
  if (session.inputNames.includes('pos_ids')) feeds.pos_ids = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [n]);
  const first = 2 + skip - 1; // row r predicts ids[r + 1]
  const rows = Array.from({ length: n - 1 - first }, (_, i) => first + i);
  if (session.inputNames.includes('logit_rows')) feeds.logit_rows = new ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [rows.length]);
  for (let l = 0; l < layers; l++) {
    feeds[`past_k_${l}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads, dh, 0]);
    feeds[`past_v_${l}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, dh]);
  }
  const out = await session.run(feeds, ['logits']);
  const logits = out.logits.data;
  const V = conf.model.vocab;
  const all = out.logits.dims[1] === n;
  let sum = 0;
  rows.forEach((r, j) => {
    const o = (all ? r : j) * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[o + v] - max);
    sum += Math.log(z) + max - logits[o + ids[r + 1]];
  });
  return { sum, count: rows.length };
}

const results = [];
for (const spec of sets) {
  const [name, file] = spec.split('=');
  const rnd = lcg(Number(opt('--seed', 7)));
  const { lines, records } = await sample(file, nDocs * 4, rnd);
  const perDoc = [];
  const pkgOf = [];
  let sum = 0;
  let count = 0;
  let tries = 0;
  const byLang = {};
  while (perDoc.length < nDocs && tries < lines.length) {
    const rec = JSON.parse(lines[tries++]);
    const t = tok.encode(rec.text);
    if (t.length < 64) continue;
    const st = t.length > window ? Math.floor(rnd() * (t.length - window)) : 0;
    const r = await score(t.slice(st, st + window));
    perDoc.push(r.sum / r.count);
    pkgOf.push(String(rec.pkg ?? '').replace(/@[^@/]*$/, ''));
    sum += r.sum;
    count += r.count;
    const lang = rec.lang ?? 'python';
    (byLang[lang] ??= []).push(r.sum / r.count);
  }
  const mean = perDoc.reduce((a, b) => a + b, 0) / perDoc.length;
  const sd = Math.sqrt(perDoc.reduce((a, b) => a + (b - mean) ** 2, 0) / (perDoc.length - 1));
  results.push({
    name, file: path.basename(file), records, docs: perDoc.length, tokens: count,
    packages: new Set(pkgOf).size,
    nll_per_token: sum / count, doc_mean: mean, doc_se: sd / Math.sqrt(perDoc.length),
    by_lang: Object.fromEntries(Object.entries(byLang).map(([k, v]) => [k, { docs: v.length, doc_mean: v.reduce((a, b) => a + b, 0) / v.length }])),
    perDoc,
    pkgOf,
  });
}

/** Per-document means grouped by package, for the bootstrap. */
function groups(r) {
  const m = new Map();
  r.perDoc.forEach((x, i) => m.set(r.pkgOf[i], [...(m.get(r.pkgOf[i]) ?? []), x]));
  return [...m.values()];
}

/** A 95 % interval of mean(a) - mean(b), resampling packages with replacement in each set. */
function bootstrap(a, b, rounds = 2000) {
  const ga = groups(a);
  const gb = groups(b);
  const rnd = lcg(99);
  const draw = (g) => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < g.length; i++) {
      const docs = g[Math.floor(rnd() * g.length)];
      for (const x of docs) s += x;
      n += docs.length;
    }
    return s / n;
  };
  const d = Array.from({ length: rounds }, () => draw(ga) - draw(gb)).sort((x, y) => x - y);
  return [d[Math.floor(0.025 * rounds)], d[Math.floor(0.975 * rounds)]];
}

if (args.includes('--json')) {
  const pairs = [];
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      pairs.push({ a: results[i].name, b: results[j].name, diff: results[i].doc_mean - results[j].doc_mean, ci95: bootstrap(results[i], results[j]) });
    }
  }
  console.log(JSON.stringify({ sets: results.map(({ perDoc, pkgOf, ...r }) => r), pairs }, null, 1));
} else {
  for (const r of results) {
    const langs = Object.entries(r.by_lang).map(([k, v]) => `${k} ${v.doc_mean.toFixed(3)} (${v.docs})`).join(', ');
    console.log(`${r.name.padEnd(10)} ${r.docs} docs of ${r.packages} packages, ${r.tokens} tokens: ${r.nll_per_token.toFixed(3)} nats/token; per document ${r.doc_mean.toFixed(3)} (${langs})`);
  }
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      const a = results[i];
      const b = results[j];
      const [lo, hi] = bootstrap(a, b);
      console.log(`${a.name} - ${b.name}: ${(a.doc_mean - b.doc_mean).toFixed(3)} nats per document (95 %, packages resampled: ${lo.toFixed(3)} .. ${hi.toFixed(3)})`);
    }
  }
}

// Quantisation fidelity on this machine: top-1 agreement of the ONNX model (ONNX Runtime, CPU, as
// the engine runs it: context through the KV cache, then one refinement step) with PyTorch fp32
// (training/model.py) on the weights recovered from that model or a checkpoint (--weights), on
// held-out contexts (models/<name>/eval_tasks.jsonl.gz), half of a 32-slot block masked.
//   node scripts/fidelity.mjs MODEL_DIR [--n 24] [--weights W] [--windows CORPUS.jsonl.xz]   (needs python3 with torch >= 1.13)
// --windows: raw 320-token windows of held-out code (e.g. training/data/js_val.jsonl.xz), as
// training/export.py checks on the GPU machine, instead of the FIM contexts of the eval tasks.
// --causal: the 32 tokens after each context are fed causally, as a draft-and-verify pass reads
// them (the rows that decide 'parallel' and 'sequential' decoding), instead of a half-masked block.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { modelTasks, readTasks } from './tasks-file.mjs';

const args = process.argv.slice(2);
const dir = args[0];
const ni = args.indexOf('--n');
const n = ni >= 0 ? Number(args[ni + 1]) : 24;
const wi = args.indexOf('--weights');
const weights = wi >= 0 ? args[wi + 1] : path.join(dir, 'model.onnx');
const pyi = args.indexOf('--python');
const python = pyi >= 0 ? args[pyi + 1] : 'python3';
const root = path.join(import.meta.dirname, '..');
const conf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const require = createRequire(import.meta.url);
require('tsx/cjs');
const { CodeTokenizer } = require(path.join(root, 'engine', 'src', 'tokenizer.ts'));
const tok = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens);
const sp = conf.special_tokens;
const tasks = readTasks(modelTasks(path.join(root, 'models', fs.readdirSync(path.join(root, 'models')).sort()[0])));
let seed = 3;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const examples = [];
const causal = args.includes('--causal');
const wi2 = args.indexOf('--windows');
if (wi2 >= 0) {
  const docs = execFileSync('xz', ['-dc', args[wi2 + 1]], { maxBuffer: 1 << 30 }).toString('utf8').trim().split('\n').map((l) => JSON.parse(l).text);
  while (examples.length < n) {
    const d = tok.encode(docs[Math.floor(rnd() * docs.length)]);
    if (d.length < 320 + 32 + 1) continue;
    const st = Math.floor(rnd() * (d.length - 320 - 32));
    const ctx = d.slice(st, st + 320);
    const block = d.slice(st + 320, st + 352).map((x) => (!causal && rnd() < 0.5 ? sp.mask : x));
    examples.push({ ctx, block, causal });
  }
} else {

for (let i = 0; examples.length < n && i < tasks.length; i += Math.floor(tasks.length / n)) {
  const t = tasks[i];
  const pre = tok.encode(t.prefix).slice(-300);
  const suf = tok.encode(t.suffix).slice(0, 40);
  const ctx = [sp.suf, ...suf, sp.pre, ...pre, sp.mid];
  const truth = tok.encode(t.target + '\n' + t.suffix).slice(0, 32);
  while (truth.length < 32) truth.push(sp.eot);
  const block = truth.map((x) => (!causal && rnd() < 0.5 ? sp.mask : x));
  examples.push({ ctx, block, causal });
}
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fid-'));
fs.writeFileSync(path.join(tmp, 'in.json'), JSON.stringify(examples));
execFileSync(python, [path.join(root, 'training', 'tools', 'fidelity_ref.py'), weights, path.join(tmp, 'in.json'), path.join(tmp, 'out.json')], { stdio: 'inherit' });
const refs = JSON.parse(fs.readFileSync(path.join(tmp, 'out.json'), 'utf8'));
const m = conf.model;
const V = m.vocab;
const { ModelSession } = require(path.join(root, 'engine', 'src', 'session.ts'));
const session = await ModelSession.create(path.join(dir, 'model.onnx'), { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: V }, { threads: 2 });
let agree = 0, total = 0, maxdiff = 0;
// rows the engine reads: slots still masked (a decided slot's row is never used)
let agreeM = 0, totalM = 0;
for (let e = 0; e < examples.length; e++) {
  const { ctx, block } = examples[e];
  // as the engine runs it: the context minus its last token into the cache, then one step
  const kv = await session.extend(ctx.slice(0, -1), session.emptyKv());
  const lg = causal
    ? (await session.verify([ctx[ctx.length - 1], ...block.slice(0, -1)], block.length, kv)).logits
    : await session.step([ctx[ctx.length - 1], ...block], kv);
  refs[e].logits.forEach((row, j) => {
    let a = 0, b = 0;
    for (let t = 0; t < V; t++) {
      if (lg[j * V + t] > lg[j * V + a]) a = t;
      if (row[t] > row[b]) b = t;
      maxdiff = Math.max(maxdiff, Math.abs(lg[j * V + t] - row[t]));
    }
    agree += a === b ? 1 : 0;
    total++;
    if (causal || block[j] === sp.mask) {
      agreeM += a === b ? 1 : 0;
      totalM++;
    }
  });
}
console.log(JSON.stringify({ model: dir, rows: causal ? 'causal' : 'block', examples: examples.length, slots: total, top1_agreement: +(agree / total).toFixed(4), masked_slots: totalM, top1_agreement_masked: +(agreeM / totalM).toFixed(4), max_abs_logit_diff: +maxdiff.toFixed(3) }));

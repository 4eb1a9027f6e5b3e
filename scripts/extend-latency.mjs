// Latency of a cold context extension (ModelSession.extend over N tokens onto an empty cache, in
// the engine's passes of EXTEND_CHUNK), on a model's graph as it is and on the same graph with the
// `logit_rows` input (engine/test/logitRowsEdit.ts; the engine then asks for no logits when it
// extends). Medians over --reps rounds, the two interleaved, and their ratio.
//   node scripts/extend-latency.mjs [MODEL_DIR] [--tokens 414] [--reps 12]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measureArgs, require, root } from './measure-args.mjs';

// default: the shipped model, found as the server finds it
const { opts, dir } = measureArgs({ '--tokens': 414, '--reps': 12 });
const N = opts['--tokens'];
const reps = opts['--reps'];
const { ModelSession } = require(path.join(root, 'engine', 'src', 'session.ts'));
const { CodeTokenizer } = require(path.join(root, 'engine', 'src', 'tokenizer.ts'));
const { addLogitRows } = require(path.join(root, 'engine', 'test', 'logitRowsEdit.ts'));
const conf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const m = conf.model;
const dims = { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab };
const onnx = path.join(dir, 'model.onnx');
const edited = addLogitRows(fs.readFileSync(onnx), m.vocab);
if (!edited) {
  console.error(`${onnx} has the logit_rows input already: nothing to compare`);
  process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-extend-'));
fs.writeFileSync(path.join(tmp, 'model.onnx'), edited);
const sessions = { graph: await ModelSession.create(onnx, dims, { threads: 2 }), logit_rows: await ModelSession.create(path.join(tmp, 'model.onnx'), dims, { threads: 2 }) };
fs.rmSync(tmp, { recursive: true, force: true });
const text = fs.readFileSync(path.join(root, 'training', 'data.py'), 'utf8').repeat(3);
const ids = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens).encode(text).slice(0, N);
const t = { graph: [], logit_rows: [] };
for (let r = 0; r < reps + 2; r++) {
  for (const k of r % 2 ? ['logit_rows', 'graph'] : ['graph', 'logit_rows']) {
    const s = sessions[k];
    const t0 = performance.now();
    await s.extend(ids, s.emptyKv());
    if (r >= 2) t[k].push(performance.now() - t0);
  }
}
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
const a = med(t.graph);
const b = med(t.logit_rows);
console.log(JSON.stringify({ model: dir, tokens: ids.length, reps, extend_ms: +a.toFixed(1), extend_logit_rows_ms: +b.toFixed(1), ratio: +(b / a).toFixed(3) }));

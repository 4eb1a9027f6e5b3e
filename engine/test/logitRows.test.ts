/**
 * The `logit_rows` input (engine/model-format.md, training/logit_rows.py): with it, the engine asks
 * for no logits when it extends the context and for every row otherwise. Checked on the shipped
 * graph with the input added (logitRowsEdit.ts): the same keys and values, the same logits, bit
 * for bit, and the same completion as the graph without it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadEngine, readModelConfig } from '../src/index';
import { type Kv, ModelSession } from '../src/session';
import { NO_MODEL, shippedModelDir } from './helpers';
import { addLogitRows, graphInputs } from './logitRowsEdit';

const dir = shippedModelDir();
const skip = dir ? false : NO_MODEL;
let tmp: string;
let plain: ModelSession;
let rows: ModelSession;

before(async () => {
  if (!dir) return;
  const conf = readModelConfig(dir);
  const m = conf.model;
  const dims = { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab };
  const bytes = fs.readFileSync(path.join(dir, 'model.onnx'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-logit-rows-'));
  const edited = addLogitRows(bytes, m.vocab) ?? bytes; // a graph exported with the input already
  fs.writeFileSync(path.join(tmp, 'model.onnx'), edited);
  for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
  plain = await ModelSession.create(path.join(dir, 'model.onnx'), dims, { threads: 2 });
  rows = await ModelSession.create(path.join(tmp, 'model.onnx'), dims, { threads: 2 });
});
after(async () => {
  await plain?.dispose();
  await rows?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function same(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${what}: element ${i} is ${b[i]}, not ${a[i]}`);
}

function sameKv(a: Kv, b: Kv): void {
  assert.equal(a.length, b.length);
  for (let l = 0; l < a.k.length; l++) {
    same(a.k[l], b.k[l], `keys of layer ${l}`);
    same(a.v[l], b.v[l], `values of layer ${l}`);
  }
}

test('the edit declares the input once and leaves a graph that has it alone', { skip }, () => {
  const edited = fs.readFileSync(path.join(tmp, 'model.onnx'));
  assert.equal(graphInputs(edited).filter((n) => n === 'logit_rows').length, 1);
  assert.equal(addLogitRows(edited, plain.dims.vocab), undefined);
  assert.ok(rows.logitRows, 'the engine sees the input');
});

test('extension, refinement step and verify pass give what the graph without the input gives', { skip }, async () => {
  const ids = Array.from({ length: 200 }, (_, i) => 10 + ((i * 37) % 8000));
  const a = await plain.extend(ids, plain.emptyKv());
  const b = await rows.extend(ids, rows.emptyKv());
  sameKv(a, b);
  const block = [ids[ids.length - 1], 2, 2, 2, 2, 2, 2, 2, 2];
  same(await plain.step(block, a), await rows.step(block, b), 'step logits');
  const va = await plain.verify([7, 8, 9, 2, 2, 2], 3, a);
  const vb = await rows.verify([7, 8, 9, 2, 2, 2], 3, b);
  same(va.logits, vb.logits, 'verify logits');
  same(va.newK, vb.newK, 'verify keys');
});

test('a completion on the edited graph is the completion on the shipped one', { skip }, async () => {
  const e1 = await loadEngine({ modelDir: dir!, threads: 2 });
  const e2 = await loadEngine({ modelDir: tmp, threads: 2 });
  try {
    const req = { prefix: 'def add(a, b):\n    return ', suffix: '\n\nprint(add(1, 2))\n', budgetMs: 60_000 };
    const r1 = await e1.fill(req);
    const r2 = await e2.fill(req);
    assert.equal(r2.text, r1.text);
  } finally {
    await e1.dispose();
    await e2.dispose();
  }
});

/**
 * The decoding rules, driven by scripted logits (no model): what is committed when, stop rules,
 * the EOS-cascade guard, healing, the window, the deadline and block chaining.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SamplerModel, type SamplerOptions, sampleBlocks } from '../src/sampler';
import { byteTokenizer } from './helpers';

const tok = byteTokenizer();
const V = tok.vocabSize;
const id = (s: string) => {
  const ids = tok.encodeWhole(s);
  assert.equal(ids.length, 1, `"${s}" is one token`);
  return ids[0];
};
const EOT = tok.special.eot;

/** Each slot j gets a distribution: `pick(j, block)` returns [token, probability] (rest spread evenly). */
function scripted(pick: (slot: number, block: readonly number[], call: number) => [number, number], opts: { outOfTimeAfter?: number } = {}) {
  let calls = 0;
  const advanced: number[][] = [];
  const model: SamplerModel & { calls: () => number; advanced: number[][] } = {
    async step(block) {
      const out = new Float32Array((block.length + 1) * V).fill(0);
      for (let j = 0; j < block.length; j++) {
        const [t, p] = pick(j, block, calls);
        // logits so that softmax gives p to t and the rest evenly
        const rest = (1 - p) / (V - 1);
        for (let k = 0; k < V; k++) out[j * V + k] = Math.log(k === t ? p : rest);
      }
      calls++;
      return out;
    },
    async advance(block) {
      advanced.push(block.slice());
    },
    outOfTime: () => opts.outOfTimeAfter !== undefined && calls >= opts.outOfTimeAfter,
    calls: () => calls,
    advanced,
  };
  return model;
}

const base: SamplerOptions = { mode: 'span', blockSize: 8, threshold: 0.9, window: 8, sequential: false, maxTokens: 64, heal: new Uint8Array(0) };
const target = ['a', 'b', 'c', 'd'].map(id);

test('parallel: confident slots commit together, far fewer steps than tokens', async () => {
  const m = scripted((j) => (j < target.length ? [target[j], 0.99] : [EOT, 0.99]));
  const r = await sampleBlocks(tok, m, base);
  assert.deepEqual(r.tokens, target);
  // step 1 commits a,b,c,d and the <eot> right of them (everything left of it commits in that step)
  assert.equal(r.steps, 1);
  assert.equal(r.truncated, false);
});

test('sequential baseline: one token per step', async () => {
  const m = scripted((j) => (j < target.length ? [target[j], 0.99] : [EOT, 0.99]));
  const r = await sampleBlocks(tok, m, { ...base, sequential: true });
  assert.deepEqual(r.tokens, target);
  assert.equal(r.steps, target.length + 1);
});

test('EOS cascade guard: <eot> is only committed at the leftmost undecided slot', async () => {
  // The model is sure the block ends right away after slot 0, unsure about slot 0 itself.
  const m = scripted((j) => (j === 0 ? [id('x'), 0.3] : [EOT, 0.999]));
  const r = await sampleBlocks(tok, m, base);
  assert.deepEqual(r.tokens, [id('x')], 'slot 0 is decided before the <eot> right of it');
  assert.equal(r.steps, 2);
});

test('a stopper joins a step only when every slot left of it commits in that step', async () => {
  // slot 1 is unsure on the first call: the <eot> at slot 4 must wait for it
  const m = scripted((j, _block, call) => {
    if (j === 1 && call === 0) return [target[1], 0.5];
    return j < target.length ? [target[j], 0.99] : [EOT, 0.99];
  });
  const r = await sampleBlocks(tok, m, base);
  assert.deepEqual(r.tokens, target);
  assert.equal(r.steps, 2, 'step 1: a, c, d (not b, not <eot>); step 2: b and then <eot>');
  // an unconfident stopper never joins: it waits until it is the leftmost undecided slot
  const m2 = scripted((j) => (j < target.length ? [target[j], 0.99] : [EOT, 0.6]));
  const r2 = await sampleBlocks(tok, m2, base);
  assert.deepEqual(r2.tokens, target);
  assert.equal(r2.steps, 2);
});

test('low confidence: at least the most confident eligible slot commits each step', async () => {
  const m = scripted((j) => (j < target.length ? [target[j], 0.2 + 0.01 * j] : [EOT, 0.2]));
  const r = await sampleBlocks(tok, m, base);
  assert.deepEqual(r.tokens, target);
  assert.equal(r.steps, target.length + 1);
});

test('window: slots past the first `window` undecided never commit early', async () => {
  const seen: number[] = [];
  const m = scripted((j, block, call) => {
    if (call === 0 && block[j] === tok.special.mask) seen.push(j);
    return [id('z'), 0.99];
  });
  const r = await sampleBlocks(tok, m, { ...base, window: 3, maxTokens: 8 });
  assert.equal(r.tokens.length, 8);
  assert.equal(r.steps, 3, '8 slots, 3 per step');
});

test('line mode stops at a newline token; span mode does not', async () => {
  const nl = id('\n');
  const seq = [id('a'), nl, id('b'), EOT];
  const pick = (j: number): [number, number] => [seq[Math.min(j, seq.length - 1)], 0.99];
  const line = await sampleBlocks(tok, scripted(pick), { ...base, mode: 'line' });
  assert.deepEqual(line.tokens, [id('a')]);
  const span = await sampleBlocks(tok, scripted(pick), { ...base, mode: 'span' });
  assert.deepEqual(span.tokens, [id('a'), nl, id('b')]);
});

test('healing: the first token must extend the typed partial token', async () => {
  // typed " re" (healed bytes); the model prefers "x", but only tokens consistent with " re" may start
  const heal = tok.bytesOf(tok.encodeWhole(' re'));
  const ret = id(' ret');
  const m = scripted((j, block) => {
    if (j === 0) return [id('x'), 0.6]; // inconsistent favourite; " ret" gets the rest share
    return block[0] === ret ? [EOT, 0.99] : [id('y'), 0.99];
  });
  const r = await sampleBlocks(tok, m, { ...base, heal });
  const bytes = tok.bytesOf(r.tokens);
  assert.ok(r.tokens.length > 0);
  assert.deepEqual([...bytes.subarray(0, heal.length)], [...heal], 'output starts with the typed bytes');
  assert.equal(r.healFailed, false);
});

test('deadline: returns the decided prefix and says it was cut short', async () => {
  // slot 0 undecided at low confidence for 2 steps while slots 1.. are confident
  const m = scripted((j, _b, call) => (j === 0 ? [id('a'), call >= 5 ? 0.99 : 0.1] : [id('b'), 0.99]), { outOfTimeAfter: 2 });
  const r = await sampleBlocks(tok, m, { ...base, window: 4 });
  assert.equal(r.truncated, true);
  assert.equal(m.calls(), 2);
  // the decided slots right of an undecided one are not returned
  for (let i = 0; i < r.tokens.length; i++) assert.notEqual(r.tokens[i], tok.special.mask);
});

test('chaining: a full block is appended and the next block continues', async () => {
  const m = scripted((j, _b, call) => (call < 1 ? [id('a'), 0.99] : j < 2 ? [id('b'), 0.99] : [EOT, 0.99]));
  const r = await sampleBlocks(tok, m, { ...base, blockSize: 4, maxTokens: 32 });
  assert.equal(m.advanced.length, 1);
  assert.deepEqual(r.tokens, [id('a'), id('a'), id('a'), id('a'), id('b'), id('b')]);
});

test('maxTokens caps the fill', async () => {
  const m = scripted(() => [id('a'), 0.99]);
  const r = await sampleBlocks(tok, m, { ...base, blockSize: 4, maxTokens: 6 });
  assert.equal(r.tokens.length, 6);
});

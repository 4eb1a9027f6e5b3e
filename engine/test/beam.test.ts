/**
 * Beam search driven by a scripted tree-verifying model (no ONNX). The model is a small language
 * model given as a function of the generated tokens, so every row of a pass can be checked against
 * it: the cache protocol (passTree / acceptPath) must give each hypothesis the distribution of its
 * own tokens. Width 1 is greedy decoding; a wide enough beam finds the most probable completion.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleBeam } from '../src/beam';
import { sampleDraftVerify, type DraftTree, type VerifyModel } from '../src/draftVerify';
import { proposable } from '../src/sampler';
import { byteTokenizer } from './helpers';

const tok = byteTokenizer();
const V = tok.vocabSize;
const EOT = tok.special.eot;
const id = (s: string) => tok.encodeWhole(s)[0];
const allowed = proposable(tok, true);

/** A language model over a few tokens: logits of the next token after `seq` (others far below). */
type LM = (seq: readonly number[]) => Map<number, number>;

function logitsOf(lm: LM, seq: readonly number[], out: Float32Array, row: number) {
  out.fill(-40, row * V, (row + 1) * V);
  for (const [t, l] of lm(seq)) out[row * V + t] = l;
}

/** log-softmax over the allowed tokens, as beam.ts scores. */
function logp(lm: LM, seq: readonly number[], t: number): number {
  const row = new Float32Array(V);
  logitsOf(lm, seq, row, 0);
  let max = -Infinity;
  for (let k = 0; k < V; k++) if (allowed[k] && row[k] > max) max = row[k];
  let sum = 0;
  for (let k = 0; k < V; k++) if (allowed[k]) sum += Math.exp(row[k] - max);
  return row[t] - max - Math.log(sum);
}

/**
 * The tokens whose keys the cache holds (or holds as `last`) are `gen`; a pass scores the tree's
 * nodes after them. `passes` counts passes; `nodes` the tree nodes of each.
 */
function treeModel(lm: LM, opts: { outOfTimeAfter?: number; linear?: boolean } = {}) {
  let gen: number[] = [];
  let passes = 0;
  let pending: DraftTree | undefined;
  const nodes: number[] = [];
  const pathTo = (tree: DraftTree, i: number) => {
    const p: number[] = [];
    for (let c = i; c >= 0; c = tree.parent[c]) p.unshift(tree.toks[c]);
    return p;
  };
  const model: VerifyModel & { passes: () => number; nodes: number[] } = {
    // linear passes only for the baseline decoder; beam search must verify trees
    async pass(draft, masks) {
      if (!opts.linear) throw new Error('beam search verifies trees only');
      return model.passTree!({ toks: [...draft], parent: draft.map((_, i) => i - 1) }, masks, -1);
    },
    accept(m, next) {
      if (!opts.linear) throw new Error('beam search accepts paths only');
      model.acceptPath!([...Array(m).keys()], next);
    },
    async passTree(tree, masks) {
      assert.equal(masks, 0);
      tree.parent.forEach((p, i) => assert.ok(p < i, 'parents come before their children'));
      passes++;
      nodes.push(tree.toks.length);
      pending = tree;
      const out = new Float32Array((1 + tree.toks.length) * V);
      logitsOf(lm, gen, out, 0);
      for (let i = 0; i < tree.toks.length; i++) logitsOf(lm, [...gen, ...pathTo(tree, i)], out, i + 1);
      return out;
    },
    acceptPath(path, next) {
      assert.ok(pending, 'acceptPath after a pass');
      path.forEach((n, k) => assert.equal(pending!.parent[n], k === 0 ? -1 : path[k - 1], 'a path runs root to leaf'));
      gen = [...gen, ...path.map((n) => pending!.toks[n]), next];
    },
    outOfTime: () => opts.outOfTimeAfter !== undefined && passes >= opts.outOfTimeAfter,
    context: [],
    passes: () => passes,
    nodes,
  };
  return model;
}

/** A deterministic pseudo-random LM over `alphabet` and <eot>. */
function randomLM(seed: number, alphabet: number[], eotBias = 0): LM {
  return (seq) => {
    let h = seed * 2654435761;
    for (const t of seq) h = Math.imul(h ^ t, 2246822519) >>> 0;
    const m = new Map<number, number>();
    for (const t of [...alphabet, EOT]) {
      h = Math.imul(h ^ (h >>> 15), 2654435761) >>> 0;
      m.set(t, (h % 1000) / 250 + (t === EOT ? eotBias + seq.length * 0.4 : 0));
    }
    return m;
  };
}

const score = (lm: LM, toks: readonly number[], finished: boolean) => {
  let s = 0;
  toks.forEach((t, i) => (s += logp(lm, toks.slice(0, i), t)));
  return finished ? s + logp(lm, toks, EOT) : s;
};

const letters = ['a', 'b', 'c', 'd'].map(id);
const opts = { mode: 'span' as const, maxTokens: 12, heal: new Uint8Array(0) };

test('width 1 is greedy: token for token the one-token-per-pass decoding', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const lm = randomLM(seed, letters);
    const beam = await sampleBeam(tok, treeModel(lm), { ...opts, width: 1 });
    const seq = await sampleDraftVerify(tok, treeModel(lm, { linear: true }), { ...opts, draft: false, masks: 0, maxDraft: 0 });
    assert.deepEqual(beam.tokens, seq.tokens, `seed ${seed}`);
  }
});

test('every hypothesis is scored on its own tokens: returned probabilities are the LM conditionals', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const lm = randomLM(seed, letters);
    const r = await sampleBeam(tok, treeModel(lm), { ...opts, width: 4 });
    r.tokens.forEach((t, i) => assert.ok(Math.abs(r.probs[i] - Math.exp(logp(lm, r.tokens.slice(0, i), t))) < 1e-4, `seed ${seed} token ${i}`));
    assert.equal(r.truncated, false);
  }
});

test('a beam as wide as the search space returns the most probable completion (brute force)', async () => {
  const ab = [id('a'), id('b')];
  for (let seed = 1; seed <= 20; seed++) {
    const lm = randomLM(seed, ab, -1);
    const maxTokens = 3; // at most 2^3 = 8 live prefixes: width 8 keeps them all
    let bestToks: number[] = [];
    let bestScore = -Infinity;
    const walk = (toks: number[]) => {
      if (toks.length === maxTokens) {
        const s = score(lm, toks, false);
        if (s > bestScore) [bestScore, bestToks] = [s, toks];
        return;
      }
      const s = score(lm, toks, true);
      if (s > bestScore) [bestScore, bestToks] = [s, toks];
      for (const t of ab) walk([...toks, t]);
    };
    walk([]);
    const r = await sampleBeam(tok, treeModel(lm), { ...opts, maxTokens, width: 8 });
    assert.deepEqual(r.tokens, bestToks, `seed ${seed}`);
  }
});

test('beam finds a completion greedy misses: a likely first token with an unlikely continuation', async () => {
  const [a, b, x, y] = ['a', 'b', 'x', 'y'].map(id);
  // after nothing: a 0.55, b 0.45; after a: x or y, even (then <eot>); after b: x, almost sure
  const lm: LM = (seq) => {
    const k = seq.length;
    if (k === 0) return new Map([[a, Math.log(0.55)], [b, Math.log(0.45)]]);
    if (k === 1 && seq[0] === a) return new Map([[x, 0], [y, 0]]);
    if (k === 1) return new Map([[x, 5]]);
    return new Map([[EOT, 5]]);
  };
  const greedy = await sampleBeam(tok, treeModel(lm), { ...opts, width: 1 });
  const beam = await sampleBeam(tok, treeModel(lm), { ...opts, width: 2 });
  assert.equal(greedy.tokens[0], a);
  assert.deepEqual(beam.tokens, [b, x]);
  assert.ok(score(lm, beam.tokens, true) > score(lm, greedy.tokens, true));
});

test('one pass per token depth; shared tokens are accepted, so the tree stays small', async () => {
  const lm = randomLM(7, letters, -2);
  const m = treeModel(lm);
  const r = await sampleBeam(tok, m, { ...opts, width: 3 });
  // the search ends at or after the depth of the answer (+1 for its stopper); never one pass per hypothesis
  assert.ok(m.passes() >= r.tokens.length + 1 - 1 && m.passes() <= opts.maxTokens + 1, `${m.passes()} passes, ${r.tokens.length} tokens`);
  assert.ok(Math.max(...m.nodes) <= 3 * opts.maxTokens);
});

test('line mode: a newline ends a hypothesis and is not returned', async () => {
  const nl = id('\n');
  const [a] = ['a'].map(id);
  const lm: LM = (seq) => (seq.length < 2 ? new Map([[a, 3], [nl, 0]]) : new Map([[nl, 4], [a, 0]]));
  const r = await sampleBeam(tok, treeModel(lm), { ...opts, mode: 'line', width: 3 });
  assert.deepEqual(r.tokens, [a, a]);
});

test('deadline: a likely line cut short beats an unlikely one that ended early', async () => {
  const nl = id('\n');
  const [a] = ['a'].map(id);
  // "aaa" then a newline is the likely line; a newline at once (an empty line) is finished but unlikely
  const lm: LM = (seq) => (seq.length < 3 ? new Map([[a, 3], [nl, 0]]) : new Map([[nl, 5], [a, 0]]));
  const cut = await sampleBeam(tok, treeModel(lm, { outOfTimeAfter: 2 }), { ...opts, mode: 'line', width: 3 });
  assert.equal(cut.truncated, true);
  assert.deepEqual(cut.tokens, [a, a]);
  const full = await sampleBeam(tok, treeModel(lm), { ...opts, mode: 'line', width: 3 });
  assert.equal(full.truncated, false);
  assert.deepEqual(full.tokens, [a, a, a]);
});

test('deadline: the best finished hypothesis, else the best live one marked truncated', async () => {
  const lm = randomLM(3, letters, -50); // never ends by itself
  const r = await sampleBeam(tok, treeModel(lm, { outOfTimeAfter: 4 }), { ...opts, width: 3 });
  assert.equal(r.truncated, true);
  assert.equal(r.tokens.length, 4);
  assert.equal(r.steps, 4);
});

test('a model without tree passes gets a clear error', async () => {
  const m = treeModel(randomLM(1, letters));
  delete (m as Partial<VerifyModel>).passTree;
  await assert.rejects(sampleBeam(tok, m, opts), /verifies trees/);
});

test('minTokens: a newline first (an empty line) is not proposed; the best non-empty line is', async () => {
  const nl = id('\n');
  const [a, b] = ['a', 'b'].map(id);
  // at first a newline is the single most likely token (a blank line); otherwise "ab" then a newline
  const lm: LM = (seq) =>
    seq.length === 0 ? new Map([[nl, 3], [a, 2], [b, 0]]) : seq.length === 1 ? new Map([[b, 3], [a, 1], [nl, 0]]) : new Map([[nl, 5]]);
  const empty = await sampleBeam(tok, treeModel(lm), { ...opts, mode: 'line', width: 2 });
  assert.deepEqual(empty.tokens, []);
  const m = treeModel(lm);
  const filled = await sampleBeam(tok, m, { ...opts, mode: 'line', width: 2, minTokens: 1 });
  assert.deepEqual(filled.tokens, [a, b]);
  // its first token's probability is renormalised over the tokens allowed there (a and b)
  const pa = Math.exp(2) / (Math.exp(2) + Math.exp(0));
  assert.ok(Math.abs(filled.probs[0] - pa) < 1e-4, `p(a) ${filled.probs[0]}`);
  // after the first token, a newline ends the line as usual
  assert.ok(m.passes() <= 3, `${m.passes()} passes`);
});

test('reject: a finished line the predicate rejects is dropped and the search goes on to the next best', async () => {
  const nl = id('\n');
  const [a, b] = ['a', 'b'].map(id);
  // "a" is the most probable line, "bb" the next; a rejected "a" must give "bb", not "a" and not ""
  const lm: LM = (seq) => {
    if (seq.length === 0) return new Map([[a, 3], [b, 2], [nl, -2]]);
    if (seq[0] === a) return new Map([[nl, 5]]);
    return seq.length === 1 ? new Map([[b, 4], [nl, 0]]) : new Map([[nl, 5]]);
  };
  const plain = await sampleBeam(tok, treeModel(lm), { ...opts, mode: 'line', width: 2 });
  assert.deepEqual(plain.tokens, [a]);
  const seen: number[][] = [];
  const r = await sampleBeam(tok, treeModel(lm), {
    ...opts,
    mode: 'line',
    width: 2,
    reject: (toks) => {
      seen.push([...toks]);
      return toks.length === 1 && toks[0] === a;
    },
  });
  assert.deepEqual(r.tokens, [b, b]);
  assert.ok(seen.some((t) => t.length === 1 && t[0] === a), 'the rejected line was offered to the predicate');
});

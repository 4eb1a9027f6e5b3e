/**
 * Draft-and-verify decoding driven by a scripted model (no ONNX): the committed text is always the
 * causal path's greedy text whatever the drafts are, good drafts save passes, copies from the
 * context are drafts, stop rules, healing, the deadline and the token limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTree, type DraftTree, type DraftVerifyOptions, lookupDrafts, sampleDraftVerify, topK, type VerifyModel } from '../src/draftVerify';
import { byteTokenizer } from './helpers';

const tok = byteTokenizer();
const V = tok.vocabSize;
const EOT = tok.special.eot;
const ids = (s: string) => tok.encodeWhole(s);

/**
 * The causal path predicts `truth[pos]` at position pos (then <eot>); mask slot j of a pass scores
 * `guess(pos of slot j)`. Records every pass's draft.
 */
function scripted(truth: readonly number[], guess: (pos: number) => number, opts: { context?: number[]; far?: number[]; outOfTimeAfter?: number; p?: number } = {}) {
  let pos = 0; // tokens committed so far
  let passes = 0;
  const drafts: number[][] = [];
  const at = (i: number) => (i < truth.length ? truth[i] : EOT);
  const row = (out: Float32Array, r: number, t: number, p = opts.p ?? 0.9) => {
    const rest = (1 - p) / (V - 1);
    for (let k = 0; k < V; k++) out[r * V + k] = Math.log(k === t ? p : rest);
  };
  const model: VerifyModel & { passes: () => number; drafts: number[][] } = {
    async pass(draft, masks) {
      drafts.push(draft.slice());
      passes++;
      const out = new Float32Array((1 + draft.length + masks) * V);
      // causal rows: the prediction after last, draft_0 .. — it depends on the draft only up to its
      // first wrong token (a causal model conditions on what it is given)
      let ok = true;
      for (let i = 0; i <= draft.length; i++) {
        row(out, i, ok ? at(pos + i) : tok.encodeWhole('#')[0]);
        if (i < draft.length && draft[i] !== at(pos + i)) ok = false;
      }
      for (let j = 1; j < masks; j++) row(out, draft.length + j, guess(pos + draft.length + j));
      return out;
    },
    accept(m) {
      pos += m + 1;
    },
    outOfTime: () => opts.outOfTimeAfter !== undefined && passes >= opts.outOfTimeAfter,
    context: opts.context ?? [],
    far: opts.far ? () => opts.far as number[] : undefined,
    passes: () => passes,
    drafts,
  };
  return model;
}

const base: DraftVerifyOptions = { mode: 'span', maxTokens: 64, heal: new Uint8Array(0), draft: true, masks: 8, maxDraft: 16 };
const target = ids('return total + count');

test('perfect drafts: the whole text in a few passes, exactly the causal text', async () => {
  const m = scripted(target, (p) => (p < target.length ? target[p] : EOT));
  const r = await sampleDraftVerify(tok, m, base);
  assert.deepEqual(r.tokens, target);
  // pass 1 drafts 7 slots after its own prediction, each later pass verifies 7 and drafts 7 more
  assert.ok(r.steps <= Math.ceil((target.length + 1) / 8) + 1, `${r.steps} passes for ${target.length} tokens`);
  assert.equal(r.truncated, false);
  assert.ok(r.accepted > 0);
});

test('useless drafts: still exactly the causal text, one token per pass (never worse than the baseline)', async () => {
  const m = scripted(target, () => ids('@')[0]);
  const r = await sampleDraftVerify(tok, m, base);
  assert.deepEqual(r.tokens, target);
  assert.equal(r.steps, target.length + 1);
  assert.equal(r.accepted, 0);
});

test('baseline (draft: false): one token per pass, no draft, no masks', async () => {
  const m = scripted(target, (p) => target[p] ?? EOT);
  const r = await sampleDraftVerify(tok, m, { ...base, draft: false });
  assert.deepEqual(r.tokens, target);
  assert.equal(r.steps, target.length + 1);
  assert.ok(m.drafts.every((d) => d.length === 0));
});

test('a rejected draft token: the causal prediction replaces it and the draft tail is reused', async () => {
  // the guesses are right except at position 3
  const m = scripted(target, (p) => (p === 3 ? ids('@')[0] : (target[p] ?? EOT)));
  const r = await sampleDraftVerify(tok, m, base);
  assert.deepEqual(r.tokens, target);
  // pass 2 verifies slots 1..7: accepts 1, 2, replaces 3; pass 3 verifies the old tail 4..7 (+ more)
  assert.deepEqual(m.drafts[2].slice(0, 4), target.slice(4, 8), 'the unverified tail is the next draft');
});

test('copies from the context are drafts: a repeated line costs one or two passes', async () => {
  const line = ids('total = count + 1\n');
  const context = [...ids('def f(count):\n    '), ...line, ...ids('    ')];
  const m = scripted(line.slice(0, -1), () => ids('@')[0], { context });
  const r = await sampleDraftVerify(tok, m, { ...base, mode: 'line', lookup: 1 });
  assert.deepEqual(r.tokens, line.slice(0, -1));
  assert.ok(r.steps <= 2, `${r.steps} passes`);
  const off = await sampleDraftVerify(tok, scripted(line.slice(0, -1), () => ids('@')[0], { context }), { ...base, mode: 'line', lookup: 0 });
  assert.deepEqual(off.tokens, r.tokens);
  assert.equal(off.steps, line.length, 'without copies: one token per pass');
});

test('lookupDrafts: the continuation of the latest earlier match, longest match first', () => {
  const h = [...ids('a = b; c = d; a = e; a = ')];
  const found = lookupDrafts(h, 4, 1, tok);
  assert.deepEqual(found[0].toks, ids('e; a'), 'latest occurrence of the longest suffix');
  assert.deepEqual(lookupDrafts([...ids('xyz')], 4, 2, tok), []);
  // never copies special tokens
  const withSpecial = [...ids('ab'), tok.special.pre, ...ids('ab')];
  for (const c of lookupDrafts(withSpecial, 4, 1, tok)) assert.ok(c.toks.every((t) => !tok.isSpecial[t]));
});

test('line mode: a newline token ends the fill and is not returned; <eot> ends any mode', async () => {
  const t = [...ids('a'), ...ids('\n'), ...ids('b')];
  const line = await sampleDraftVerify(tok, scripted(t, (p) => t[p] ?? EOT), { ...base, mode: 'line' });
  assert.deepEqual(line.tokens, ids('a'));
  const span = await sampleDraftVerify(tok, scripted(t, (p) => t[p] ?? EOT), base);
  assert.deepEqual(span.tokens, t);
});

test('a drafted stopper is only committed by verification, after everything left of it', async () => {
  // the drafts end right away (<eot> everywhere): the EOS cascade of masked diffusion
  const m = scripted(target, () => EOT);
  const r = await sampleDraftVerify(tok, m, base);
  assert.deepEqual(r.tokens, target, 'drafted <eot>s never cut the text short');
});

test('healing: every verified token is constrained to the typed partial token', async () => {
  const heal = tok.bytesOf(ids(' re'));
  // the causal favourite is "x"; only tokens consistent with " re" may start
  const m = scripted([ids('x')[0]], () => ids('@')[0], { p: 0.6 });
  const r = await sampleDraftVerify(tok, m, { ...base, heal, maxTokens: 1 });
  assert.equal(r.tokens.length, 1);
  const b = tok.bytes[r.tokens[0]];
  const n = Math.min(b.length, heal.length);
  assert.ok(b.length >= 1 && [...b.subarray(0, n)].every((x, i) => x === heal[i]), `token ${JSON.stringify(tok.decode(r.tokens))} extends " re"`);
  assert.notEqual(r.tokens[0], ids('x')[0]);
  assert.equal(r.healFailed, heal.length > b.length);
});

test('deadline: the committed tokens come back, marked truncated', async () => {
  const m = scripted(target, () => ids('@')[0], { outOfTimeAfter: 3 });
  const r = await sampleDraftVerify(tok, m, base);
  assert.equal(r.truncated, true);
  assert.equal(m.passes(), 3);
  assert.deepEqual(r.tokens, target.slice(0, 3));
});

test('maxTokens: never more tokens than asked, even from an accepted draft', async () => {
  const m = scripted(target, (p) => target[p] ?? EOT);
  const r = await sampleDraftVerify(tok, m, { ...base, maxTokens: 5 });
  assert.deepEqual(r.tokens, target.slice(0, 5));
});

/**
 * The scripted model of above, able to verify a tree of drafts in one pass (passTree): node i's
 * row predicts the truth after its path when every token on the path is right, else '#'.
 */
function scriptedTree(truth: readonly number[], guess: (pos: number) => number, opts: { context?: number[] } = {}) {
  const m = scripted(truth, guess, opts);
  let pos = 0;
  let trees = 0;
  const at = (i: number) => (i < truth.length ? truth[i] : EOT);
  const row = (out: Float32Array, r: number, t: number) => {
    for (let k = 0; k < V; k++) out[r * V + k] = Math.log(k === t ? 0.9 : 0.1 / (V - 1));
  };
  const inner = m.accept.bind(m);
  const innerPass = m.pass.bind(m);
  const model = Object.assign(m, {
    async pass(draft: readonly number[], masks: number) {
      return innerPass(draft, masks);
    },
    accept(k: number, next: number) {
      pos += k + 1;
      inner(k, next);
    },
    async passTree(tree: DraftTree, masks: number, maskAfter: number) {
      trees++;
      const n = tree.toks.length;
      const out = new Float32Array((1 + n + masks) * V);
      const depth: number[] = [];
      const ok: boolean[] = [];
      row(out, 0, at(pos));
      for (let i = 0; i < n; i++) {
        const p = tree.parent[i];
        depth[i] = p < 0 ? 1 : depth[p] + 1;
        ok[i] = (p < 0 || ok[p]) && tree.toks[i] === at(pos + depth[i] - 1);
        row(out, 1 + i, ok[i] ? at(pos + depth[i]) : tok.encodeWhole('#')[0]);
      }
      const d0 = maskAfter < 0 ? 0 : depth[maskAfter];
      for (let j = 1; j < masks; j++) row(out, n + j, guess(pos + d0 + j));
      return out;
    },
    acceptPath(path: readonly number[], next: number) {
      pos += path.length + 1;
      inner(path.length, next);
    },
    trees: () => trees,
  });
  return model;
}

test('tree of drafts: still exactly the causal text whatever the branches, never more passes than one draft', async () => {
  const noise = (p: number) => ids('@#$%'.charAt(p % 4))[0];
  for (const guess of [(p: number) => target[p] ?? EOT, noise, (p: number) => (p % 3 === 0 ? noise(p) : (target[p] ?? EOT))]) {
    const one = await sampleDraftVerify(tok, scripted(target, guess), { ...base, masks: 6 });
    for (const maskRoot of ['end', 'root'] as const) {
      const m = scriptedTree(target, guess);
      const r = await sampleDraftVerify(tok, m, { ...base, masks: 6, branches: 4, treeNodes: 16, maskRoot });
      assert.deepEqual(r.tokens, target);
      assert.equal(r.truncated, false);
      assert.ok(r.steps <= target.length + 1);
      if (maskRoot === 'end') assert.ok(r.steps <= one.steps, `tree ${r.steps} passes, one draft ${one.steps}`);
    }
  }
});

test('tree of drafts: a right copy that is not ranked first is accepted in the same pass', async () => {
  // "x = " was followed by "a + 1" long ago and by "b * 2" lately; the truth is "a + 1"
  const want = ids('a + 1;\n');
  const context = [...ids('x = a + 1;\ny = 0;\nx = b * 2;\nz = 3;\nx = ')];
  const truth = want.slice(0, -1);
  const flat = await sampleDraftVerify(tok, scripted(truth, () => ids('@')[0], { context }), { ...base, mode: 'line', lookup: 1, masks: 4 });
  const m = scriptedTree(truth, () => ids('@')[0], { context });
  const r = await sampleDraftVerify(tok, m, { ...base, mode: 'line', lookup: 1, masks: 4, branches: 4, treeNodes: 24, branchLen: 12 });
  assert.deepEqual(r.tokens, truth);
  assert.deepEqual(flat.tokens, truth);
  assert.ok(m.trees() > 0, 'passes carried trees');
  assert.ok(r.steps < flat.steps, `tree ${r.steps} passes, one draft ${flat.steps}`);
  assert.equal(r.steps, 1, 'the older copy is verified beside the latest one and accepted whole');
});

test('buildTree: shared leading tokens share nodes, the first draft is whole, the rest stop at the node cap', () => {
  const t = buildTree([[1, 2, 3], [1, 2, 4], [5, 6, 7, 8]], 5);
  assert.deepEqual(t.toks.slice(0, 3), [1, 2, 3]);
  assert.deepEqual(t.nodesOf[0], [0, 1, 2]);
  assert.deepEqual(t.nodesOf[1], [0, 1, 3], 'the second draft shares "1 2"');
  assert.equal(t.parent[3], 1);
  assert.deepEqual(t.nodesOf[2], [4], 'cut at 5 nodes');
  assert.equal(t.toks.length, 5);
  for (let i = 0; i < t.toks.length; i++) assert.ok(t.parent[i] < i, 'parents first');
  // the first draft is never cut
  assert.equal(buildTree([[1, 2, 3, 4, 5, 6]], 2).toks.length, 6);
});

test('topK: the k best allowed tokens, best first', () => {
  const row = new Float32Array(V).fill(-10);
  row[7] = 3;
  row[9] = 5;
  row[11] = 4;
  row[13] = 6;
  const allowed = new Uint8Array(V).fill(1);
  allowed[13] = 0;
  assert.deepEqual(topK(row, 0, V, allowed, 3), [9, 11, 7]);
  assert.deepEqual(topK(row, 0, V, allowed, 1), [9]);
});

test('near the deadline a smaller pass that fits is run instead of stopping', async () => {
  // after two passes only passes of at most 2 tokens fit, and after six none
  const guess = (p: number) => target[p] ?? EOT;
  const m = scriptedTree(target, guess);
  const sizes: number[] = [];
  let calls = 0;
  m.outOfTime = (draft: number, masks: number) => {
    calls++;
    const passes = m.passes() + m.trees();
    if (passes >= 6) return true;
    const fits = passes < 2 || draft + masks <= 2;
    if (fits) sizes.push(draft + masks);
    return !fits;
  };
  const r = await sampleDraftVerify(tok, m, { ...base, masks: 6, branches: 4, treeNodes: 16, maskRoot: 'root' });
  assert.equal(r.truncated, true);
  assert.deepEqual(r.tokens, target.slice(0, r.tokens.length), 'still the causal text');
  assert.equal(r.steps, 6, 'small passes ran until nothing fitted');
  assert.ok(sizes.slice(2).every((x) => x <= 2), `late passes were small: ${sizes.join(',')}`);
  assert.ok(calls > r.steps, 'smaller plans were tried');
});

test('copies from the document outside the window: used only when the window has no match', async () => {
  const line = ids('total = count + 1\n');
  const far = [...ids('def f(count):\n    '), ...line, tok.special.pad];
  const window = ids('    ');
  const noWindowMatch = await sampleDraftVerify(tok, scripted(line.slice(0, -1), () => ids('@')[0], { context: window, far }), { ...base, mode: 'line', lookup: 1 });
  assert.deepEqual(noWindowMatch.tokens, line.slice(0, -1));
  assert.ok(noWindowMatch.steps <= 2, `${noWindowMatch.steps} passes with the far copy`);
  const without = await sampleDraftVerify(tok, scripted(line.slice(0, -1), () => ids('@')[0], { context: window }), { ...base, mode: 'line', lookup: 1 });
  assert.equal(without.steps, line.length, 'no copy anywhere: one token per pass');
  // the window's own match wins over the far one, even when the far one is right
  const other = ids('total = other\n');
  const m = scripted(line.slice(0, -1), () => ids('@')[0], { context: [...ids('x\n'), ...other, ...ids('    ')], far });
  const r = await sampleDraftVerify(tok, m, { ...base, mode: 'line', lookup: 1 });
  assert.deepEqual(r.tokens, line.slice(0, -1));
  const fromWindow = lookupDrafts([...ids('x\n'), ...other, ...ids('    ')], 16, 1, tok).map((c) => c.toks.join(','));
  assert.ok(m.drafts[0].length > 0 && fromWindow.some((c) => c.startsWith(m.drafts[0].join(','))), 'first draft copied from the window');
  assert.notDeepEqual(m.drafts[0].slice(0, 3), line.slice(0, 3), 'not the far copy');
});

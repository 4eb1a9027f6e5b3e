/**
 * Beam search on the causal path, one pass per token depth: the live hypotheses are verified
 * together as a tree (VerifyModel.passTree), so a pass costs about one forward over a few more
 * tokens, not one per hypothesis.
 *
 * A hypothesis's score is the sum of its tokens' log-probabilities, its stopper's included (a
 * newline token in line mode, <eot> always, as in draft-and-verify). Extending a hypothesis can only
 * lower its score, so the search ends exactly when the best finished hypothesis scores at least as
 * high as every live one: the answer is then the most probable completion the beam kept.
 * With width 1 it is greedy decoding, token for token what the one-token-per-pass baseline gives.
 *
 * The tokens that every live hypothesis shares are accepted into the cache after each pass, so the
 * tree holds only where the hypotheses differ. Token healing is tracked per hypothesis.
 */
import type { DraftTree, DraftVerifyResult, VerifyModel } from './draftVerify';
import { buildTree } from './draftVerify';
import { consumeHeal, healAllowed, proposable, type SamplerMode } from './sampler';
import type { CodeTokenizer } from './tokenizer';

export interface BeamOptions {
  mode: SamplerMode;
  maxTokens: number;
  heal: Uint8Array;
  /** Hypotheses kept per depth (default 3). */
  width?: number;
  /** false: never end with <eot>. Default true. */
  allowEot?: boolean;
  /**
   * No stopper (newline in line mode, <eot>) before this many tokens (default 0). With 1, a blank
   * line gets the most probable non-empty line instead of an empty completion.
   */
  minTokens?: number;
  /**
   * Finished hypotheses (their tokens, stopper excluded) for which this holds are dropped and the
   * search goes on: the engine uses it for a line that would repeat the next line of the suffix.
   */
  reject?: (toks: readonly number[]) => boolean;
}

interface Hyp {
  toks: number[];
  logps: number[];
  score: number;
  heal: Uint8Array;
}

/** The `k` best allowed tokens of a row with their log-probabilities (softmax over allowed tokens). */
function topLogp(logits: Float32Array, off: number, V: number, allowed: Uint8Array, k: number): Array<[number, number]> {
  let max = -Infinity;
  for (let t = 0; t < V; t++) if (allowed[t] && logits[off + t] > max) max = logits[off + t];
  if (max === -Infinity) return [];
  let sum = 0;
  for (let t = 0; t < V; t++) if (allowed[t]) sum += Math.exp(logits[off + t] - max);
  const lse = max + Math.log(sum);
  const ids: number[] = [];
  const vals: number[] = [];
  for (let t = 0; t < V; t++) {
    if (!allowed[t]) continue;
    const l = logits[off + t];
    if (ids.length === k && l <= vals[k - 1]) continue;
    let i = ids.length < k ? ids.length : k - 1;
    while (i > 0 && vals[i - 1] < l) {
      if (i < k) {
        ids[i] = ids[i - 1];
        vals[i] = vals[i - 1];
      }
      i--;
    }
    ids[i] = t;
    vals[i] = l;
  }
  return ids.map((t, i) => [t, vals[i] - lse]);
}

export async function sampleBeam(tok: CodeTokenizer, model: VerifyModel, o: BeamOptions): Promise<DraftVerifyResult> {
  if (!model.passTree || !model.acceptPath) throw new Error('beam search needs a model that verifies trees (format 3)');
  const V = tok.vocabSize;
  const W = Math.max(1, Math.min(o.width ?? 3, 8));
  const base = proposable(tok, o.allowEot !== false);
  const eot = tok.special.eot;
  const isStop = (t: number) => t === eot || (o.mode === 'line' && tok.hasNewline[t] === 1);
  const minTokens = o.minTokens ?? 0;
  let noStop: Uint8Array | undefined;
  if (minTokens > 0) {
    noStop = base.slice();
    for (let t = 0; t < V; t++) if (isStop(t)) noStop[t] = 0;
  }
  let live: Hyp[] = [{ toks: [], logps: [], score: 0, heal: o.heal }];
  let done: Hyp | undefined;
  /** Generated tokens every live hypothesis shares that the cache already holds (or holds as `last`). */
  let decided = 0;
  let steps = 0;
  const result = (h: Hyp, truncated: boolean): DraftVerifyResult => ({
    tokens: h.toks,
    probs: h.logps.map(Math.exp),
    steps,
    truncated,
    healFailed: h.heal.length > 0,
    accepted: 0,
  });

  while (live.length > 0 && !(done && done.score >= live[0].score)) {
    const tails = live.map((h) => h.toks.slice(decided));
    const tree: DraftTree & { nodesOf: number[][] } = buildTree(tails, Infinity);
    // at the deadline: the best finished hypothesis if nothing live beats it, else the best live one
    // (a likely line cut short, not an unlikely one that happened to end early), marked truncated
    if (model.outOfTime(tree.toks.length, 0)) return done && done.score >= live[0].score ? result(done, false) : result(live[0], true);
    const logits = await model.passTree(tree, 0, -1);
    steps++;
    const next: Hyp[] = [];
    for (let i = 0; i < live.length; i++) {
      const h = live[i];
      const nodes = tree.nodesOf[i];
      const row = nodes.length === 0 ? 0 : 1 + nodes[nodes.length - 1];
      const from = noStop && h.toks.length < minTokens ? noStop : base;
      const allowed = h.heal.length > 0 ? healAllowed(tok, from, h.heal) : from;
      for (const [t, lp] of topLogp(logits, row * V, V, allowed, W)) {
        const score = h.score + lp;
        if (isStop(t)) {
          if ((!done || score > done.score) && !o.reject?.(h.toks)) done = { ...h, score };
          continue;
        }
        const toks = [...h.toks, t];
        const cand: Hyp = { toks, logps: [...h.logps, lp], score, heal: h.heal.length > 0 ? consumeHeal(h.heal, tok.bytes[t]) : h.heal };
        if (toks.length >= o.maxTokens) {
          // at the length limit a hypothesis ends unfinished: counted as finished, as the other decoders return it
          if ((!done || score > done.score) && !o.reject?.(cand.toks)) done = cand;
          continue;
        }
        next.push(cand);
      }
    }
    next.sort((a, b) => b.score - a.score);
    live = next.slice(0, W);
    if (live.length === 0) break;
    // accept what all live hypotheses share: the nodes of this pass on the way, then one more token as `last`
    let common = live[0].toks.length;
    for (const h of live) {
      let j = decided;
      while (j < common && h.toks[j] === live[0].toks[j]) j++;
      common = j;
    }
    if (common > decided) {
      const path: number[] = [];
      let cur = -1;
      for (let j = decided; j < common - 1; j++) {
        const child = tree.toks.findIndex((t, c) => tree.parent[c] === cur && t === live[0].toks[j]);
        if (child < 0) break;
        path.push(child);
        cur = child;
      }
      model.acceptPath(path, live[0].toks[decided + path.length]);
      decided += path.length + 1;
    }
    if (model.enough?.(live[0].toks) && (!done || live[0].score > done.score)) return result(live[0], false);
  }
  return result(done ?? live[0] ?? { toks: [], logps: [], score: 0, heal: o.heal }, false);
}

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
 *
 * Lookahead (`masks` > 0): the best hypothesis's tail is followed in the tree by a draft (the mask
 * slots' proposals of the pass before, as in draft-and-verify), and the pass's own mask slots draft
 * the next one. After a pass the search goes on depth by depth for as long as every live hypothesis
 * is a node of the tree (its next-token row is then already computed), so a pass can decide several
 * depths. That changes only the number of passes, not the answer: the expansions are the same ones,
 * computed earlier. `prune` drops hypotheses far below the best; a beam that has collapsed to one
 * hypothesis then follows the draft like draft-and-verify does, several tokens per pass.
 */
import type { DraftTree, DraftVerifyResult, VerifyModel } from './draftVerify';
import { buildTree } from './draftVerify';
import { best } from './sampler';
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
  /** Mask slots drafted after the best hypothesis per pass (0, the default: one depth per pass). */
  masks?: number;
  /** Longest draft after the best hypothesis (default 12). */
  maxDraft?: number;
  /** Live hypotheses more than this many nats below the best are dropped (default Infinity: none). */
  prune?: number;
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

  const M = Math.max(0, o.masks ?? 0);
  const prune = o.prune ?? Infinity;
  /** Proposed tokens after live[0]'s (unverified): the next pass verifies them with it. */
  let draft: number[] = [];
  const finished = () => live.length === 0 || (done !== undefined && done.score >= live[0].score);

  while (!finished()) {
    const top = live[0];
    let d: number[] = [];
    if (M > 0) {
      const lim = Math.min(draft.length, o.maxDraft ?? 12, o.maxTokens - top.toks.length - 1);
      for (let i = 0; i < lim && !isStop(draft[i]); i++) d.push(draft[i]);
    }
    const tailsOf = (dd: number[]) => live.map((h, i) => (i === 0 ? [...h.toks.slice(decided), ...dd] : h.toks.slice(decided)));
    let tree: DraftTree & { nodesOf: number[][] } = buildTree(tailsOf(d), Infinity);
    let masks = M;
    if (model.outOfTime(tree.toks.length, masks)) {
      // near the deadline: the hypotheses alone, one depth, rather than a pass that ends late
      d = [];
      masks = 0;
      tree = buildTree(tailsOf(d), Infinity);
      // at the deadline: the best finished hypothesis if nothing live beats it, else the best live one
      // (a likely line cut short, not an unlikely one that happened to end early), marked truncated
      if (model.outOfTime(tree.toks.length, 0)) return done && done.score >= live[0].score ? result(done, false) : result(live[0], true);
    }
    const chainNodes = tree.nodesOf[0];
    const maskAfter = chainNodes.length === 0 ? -1 : chainNodes[chainNodes.length - 1];
    const logits = await model.passTree(tree, masks, maskAfter);
    steps++;
    const kids = new Map<number, Map<number, number>>();
    tree.toks.forEach((t, c) => {
      let m = kids.get(tree.parent[c]);
      if (!m) kids.set(tree.parent[c], (m = new Map()));
      m.set(t, c);
    });
    /** The logits row after a hypothesis when the tree holds all its undecided tokens. */
    const rowOf = (h: Hyp): number | undefined => {
      let cur = -1;
      for (let j = decided; j < h.toks.length; j++) {
        const c = kids.get(cur)?.get(h.toks[j]);
        if (c === undefined) return undefined;
        cur = c;
      }
      return cur + 1;
    };
    let stop = false;
    // one depth per round, while every live hypothesis's row is in this pass
    for (;;) {
      const rows = live.map(rowOf);
      if (rows.some((r) => r === undefined)) break;
      const next: Hyp[] = [];
      for (let i = 0; i < live.length; i++) {
        const h = live[i];
        const allowed = h.heal.length > 0 ? healAllowed(tok, base, h.heal) : base;
        for (const [t, lp] of topLogp(logits, rows[i]! * V, V, allowed, W)) {
          const score = h.score + lp;
          if (isStop(t)) {
            if (!done || score > done.score) done = { ...h, score };
            continue;
          }
          const toks = [...h.toks, t];
          const cand: Hyp = { toks, logps: [...h.logps, lp], score, heal: h.heal.length > 0 ? consumeHeal(h.heal, tok.bytes[t]) : h.heal };
          if (toks.length >= o.maxTokens) {
            // at the length limit a hypothesis ends unfinished: counted as finished, as the other decoders return it
            if (!done || score > done.score) done = cand;
            continue;
          }
          next.push(cand);
        }
      }
      next.sort((a, b) => b.score - a.score);
      live = next.filter((h) => h.score >= next[0].score - prune).slice(0, W);
      if (finished()) break;
      if (model.enough?.(live[0].toks) && (!done || live[0].score > done.score)) {
        stop = true;
        break;
      }
    }
    if (live.length === 0) break;
    // accept what all live hypotheses share: the tree's nodes on the way, then one more token as `last`
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
        const child = kids.get(cur)?.get(live[0].toks[j]);
        if (child === undefined) break;
        path.push(child);
        cur = child;
      }
      model.acceptPath(path, live[0].toks[decided + path.length]);
      decided += path.length + 1;
    }
    if (stop) return result(live[0], false);
    if (masks > 0) {
      // the next draft: what this pass proposed after the chain (its causal row, then the mask
      // slots), kept while the new best hypothesis is still on that chain
      const chain = [...top.toks, ...d, best(logits, (maskAfter + 1) * V, V, base)[0]];
      for (let j = 1; j < masks; j++) chain.push(best(logits, (tree.toks.length + j) * V, V, base)[0]);
      const h = live[0].toks;
      draft = h.length <= chain.length && h.every((t, i) => t === chain[i]) ? chain.slice(h.length) : [];
    }
  }
  return result(done ?? live[0] ?? { toks: [], logps: [], score: 0, heal: o.heal }, false);
}

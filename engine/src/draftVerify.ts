/**
 * Draft-and-verify decoding: diffusion drafts, the causal path commits.
 *
 * The model is causal over its context and bidirectional inside the block, with slot j read from
 * the position before it. So one forward pass over
 *
 *     [last, d_0 .. d_{k-1}, <mask> x M]      (first 1 + k causal, the M masks a diffusion block)
 *
 * does two jobs at once:
 *  - verify: row i of the causal part is the model's own next-token prediction after
 *    last, d_0 .. d_{i-1}. Draft tokens are accepted left to right while they equal that prediction;
 *    at the first difference the prediction itself is committed (the "bonus" token). Every committed
 *    token is exactly what one-token-per-step greedy decoding on the causal path would produce, so
 *    the parallel decoder gives the same text as the baseline and at least one token per pass.
 *    The accepted tokens' keys and values, computed causally in this pass, join the cache.
 *  - draft: the mask rows fill the positions after the draft in parallel (a block-diffusion pass
 *    against everything before them). They, with the draft's unverified tail when a token was
 *    rejected, are the next pass's draft.
 * The baseline (`draft: false`) runs the same loop with no draft and no masks: one token per pass.
 *
 * Stop rules: in line mode a newline token ends the fill, <eot> always does; a stopper is committed
 * only through verification, so it can never be decided before the tokens left of it (no EOS
 * cascade). Token healing constrains each verified token to the typed partial token's remaining
 * bytes until they are reproduced. At the deadline the committed tokens are returned.
 */
import { best, consumeHeal, healAllowed, proposable, type SamplerMode, type SamplerResult } from './sampler';
import type { CodeTokenizer } from './tokenizer';

/**
 * Drafts of one pass as a tree: node i holds token `toks[i]` and continues node `parent[i]` (-1: the
 * last decided token); parents come before their children. A single draft is a chain.
 */
export interface DraftTree {
  toks: number[];
  parent: number[];
}

export interface VerifyModel {
  /**
   * One pass over [last, ...draft] (causal) and `masks` <mask> slots (bidirectional). Returns logits
   * [1 + draft.length + masks, V]: row i <= draft.length predicts the token after draft[i - 1]
   * (after `last` for i = 0; row draft.length is the causal prediction for mask slot 0), and row
   * draft.length + j scores mask slot j (1 <= j < masks).
   */
  pass(draft: readonly number[], masks: number): Promise<Float32Array>;
  /** Keeps `last` and the first `m` draft tokens of the last pass in the cache; `next` becomes last. */
  accept(m: number, next: number): void;
  /**
   * Present when one pass can verify a tree of drafts (the graph takes positions): node i sees the
   * decided tokens, its ancestors and itself at the position of its depth; the mask slots continue
   * node `maskAfter` (-1: the last decided token). Rows as in pass(): row 0 is the prediction after
   * the last decided token, row 1 + i the one after node i, row 1 + n + j - 1 scores mask slot j.
   */
  passTree?(tree: DraftTree, masks: number, maskAfter: number): Promise<Float32Array>;
  /** After passTree: keeps `last` and the nodes of `path` (root to leaf); `next` becomes last. */
  acceptPath?(path: readonly number[], next: number): void;
  /** True when a pass with this draft and mask count would end past the deadline (or past the trained positions); throws when cancelled. */
  outOfTime(draft: number, masks: number): boolean;
  /** Called with the tokens so far after each pass; return true to stop. */
  enough?(tokens: readonly number[]): boolean;
  /** The context's tokens before the middle (for drafts copied from it; no <mid>). */
  readonly context: readonly number[];
  /**
   * More of the document, outside the model's window (special tokens between parts): drafts are
   * copied from it only when the window has no match.
   */
  far?(): readonly number[];
}

export interface DraftVerifyOptions {
  mode: SamplerMode;
  maxTokens: number;
  heal: Uint8Array;
  /** false: the one-token-per-pass baseline (no draft, no masks). */
  draft: boolean;
  /** Mask slots drafted per pass. */
  masks: number;
  /** Longest draft verified in one pass. */
  maxDraft: number;
  /** false: never end with <eot> (fixed-length rewrites). Default true. */
  allowEot?: boolean;
  /** Copy drafts from the context: the shortest n-gram to match (0: off). */
  lookup?: number;
  /**
   * Drafts verified beside the main one in the same pass, as a tree (models with passTree only;
   * default 0: one draft per pass).
   */
  branches?: number;
  /** Longest draft beside the main one (default 4; their later tokens are rarely accepted). */
  branchLen?: number;
  /** Most draft tokens (tree nodes) in one pass. Default 24. */
  treeNodes?: number;
  /** With branches: runners-up of the first mask slot drafted beside it (default 3). */
  alternatives?: number;
  /**
   * With branches: where the mask slots go: after the main draft ('end', default), after the
   * decided tokens ('root'), or 'auto' (root when the main draft is a copy). A long draft copied
   * from the context is most often rejected at its first token; slots after the decided tokens are
   * then still at the right positions (for the tokens after the one committed instead).
   */
  maskRoot?: 'end' | 'root' | 'auto';
}

/**
 * The drafts merged into a tree (shared leading tokens share nodes), the first draft whole, the
 * others cut where the tree reaches `maxNodes`. `nodesOf[c]` lists draft c's nodes (a prefix of it
 * when it was cut); the first draft's nodes are 0 .. its length - 1.
 */
export function buildTree(drafts: readonly (readonly number[])[], maxNodes: number): DraftTree & { nodesOf: number[][] } {
  const toks: number[] = [];
  const parent: number[] = [];
  const kids = new Map<number, Map<number, number>>();
  const nodesOf: number[][] = [];
  drafts.forEach((d, c) => {
    const nodes: number[] = [];
    let cur = -1;
    for (const t of d) {
      let m = kids.get(cur);
      if (!m) kids.set(cur, (m = new Map()));
      let nx = m.get(t);
      if (nx === undefined) {
        if (c > 0 && toks.length >= maxNodes) break;
        nx = toks.length;
        toks.push(t);
        parent.push(cur);
        m.set(t, nx);
      }
      nodes.push(nx);
      cur = nx;
    }
    nodesOf.push(nodes);
  });
  return { toks, parent, nodesOf };
}

/**
 * Drafts copied from earlier in the context: what followed earlier occurrences of the last n tokens
 * of `hist` (n from 4 down to `minN`), up to the first special token. Latest occurrence first, at
 * most `max` distinct continuations.
 */
export function lookupDrafts(hist: readonly number[], maxLen: number, minN: number, tok: CodeTokenizer, max = 8): Array<{ toks: number[]; n: number }> {
  const L = hist.length;
  const found: Array<{ toks: number[]; n: number }> = [];
  const seen = new Set<string>();
  for (let n = Math.min(4, L - 1); n >= Math.max(1, minN) && found.length < max; n--) {
    for (let s = L - n - 1; s >= 0 && found.length < max; s--) {
      let j = 0;
      while (j < n && hist[s + j] === hist[L - n + j]) j++;
      if (j < n) continue;
      const toks: number[] = [];
      for (let i = s + n; i < L && toks.length < maxLen && !tok.isSpecial[hist[i]]; i++) toks.push(hist[i]);
      const key = toks.slice(0, 6).join(',');
      if (toks.length === 0 || seen.has(key)) continue;
      seen.add(key);
      found.push({ toks, n });
    }
  }
  return found;
}

/** The `k` best allowed tokens of a logits row, best first. */
export function topK(logits: Float32Array, off: number, V: number, allowed: Uint8Array, k: number): number[] {
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
  return ids;
}

/** Leading tokens two drafts share. */
function agree(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export interface DraftVerifyResult extends SamplerResult {
  /** Draft tokens accepted by verification (the rest of the tokens are the passes' own predictions). */
  accepted: number;
}

export async function sampleDraftVerify(tok: CodeTokenizer, model: VerifyModel, o: DraftVerifyOptions): Promise<DraftVerifyResult> {
  const V = tok.vocabSize;
  const sp = tok.special;
  const base = proposable(tok, o.allowEot !== false);
  const isStop = (t: number) => t === sp.eot || (o.mode === 'line' && tok.hasNewline[t] === 1);
  const out: number[] = [];
  const probs: number[] = [];
  let steps = 0;
  let accepted = 0;
  let healLeft = o.heal;
  const M = o.draft ? Math.max(1, o.masks) : 0;
  const done = (truncated: boolean): DraftVerifyResult => ({ tokens: out, probs, steps, truncated, healFailed: healLeft.length > 0, accepted });

  const treeOk = !!(model.passTree && model.acceptPath && (o.branches ?? 0) > 0);
  const branches = treeOk ? (o.branches ?? 0) : 0;
  const treeNodes = o.treeNodes ?? 24;
  /**
   * The next drafts, best first: copies from the context (ranked by the model's own draft `own`:
   * most leading tokens in common, then the longest match, then the latest occurrence), with `own`
   * itself first among the others; `own` alone when there is no copy.
   */
  const withCopy = (own: number[], hist: readonly number[], alts: number[][] = []): number[][] => {
    const ok = healLeft.length > 0 ? healAllowed(tok, base, healLeft) : undefined;
    const find = (h: readonly number[]) => (o.lookup ? lookupDrafts(h, o.maxDraft, o.lookup, tok, 8) : []).filter((c) => !ok || ok[c.toks[0]] === 1);
    let cands = find(hist);
    // the rest of the document only when the window has no match: its copies, mixed in with the
    // window's, displaced better ones (bench: 5.00 passes per line against 4.78; as a fallback 4.68)
    if (cands.length === 0 && model.far) {
      const far = model.far();
      if (far.length > 0) cands = find(far.concat(hist));
    }
    if (cands.length === 0) return [own, ...alts].slice(0, 1 + branches);
    const scored = cands.map((c, i) => ({ toks: c.toks, sc: agree(c.toks, own) * 8 + c.n, i }));
    // stable: equal scores keep the latest occurrence first
    scored.sort((x, y) => y.sc - x.sc || x.i - y.i);
    const ranked = scored.map((c) => c.toks);
    if (branches === 0) return [ranked[0]];
    const others = own.length > 0 ? [own, ...alts, ...ranked.slice(1)] : ranked.slice(1);
    return [ranked[0], ...others.slice(0, branches)];
  };
  let drafts: number[][] = [[]];
  if (o.lookup && o.draft) drafts = withCopy([], model.context);
  const altN = branches > 0 ? (o.alternatives ?? 3) : 0;
  /** The main draft is the model's own (not a copy from the context). */
  let fromOwn = !(o.lookup && o.draft);

  while (out.length < o.maxTokens) {
    // verify at most what could still be used, up to and including the first stopper
    const cut = (c: readonly number[]) => {
      let k = Math.min(c.length, o.maxDraft, o.maxTokens - out.length);
      for (let i = 0; i < k; i++) {
        if (isStop(c[i])) {
          k = i + 1;
          break;
        }
      }
      return c.slice(0, k);
    };
    const main = cut(drafts[0]);
    // the drafts beside the main one are short: their later tokens are rarely accepted
    const sides = branches > 0 ? drafts.slice(1).map((c) => cut(c).slice(0, o.branchLen ?? 4)) : [];
    const plan = (cs: number[][], masks: number) => {
      const tree = buildTree(cs, Math.max(treeNodes, cs[0].length));
      // the mask slots continue the main draft, or (maskRoot) the decided tokens: a long draft
      // copied from the context is most often rejected at its first token, and then only slots
      // drafted from the decided tokens sit at the right positions
      const atRoot = treeOk && masks > 0 && cs[0].length > 0 && (o.maskRoot === 'root' || (o.maskRoot === 'auto' && !fromOwn));
      return { cs, tree, masks, atRoot, linear: tree.toks.length === cs[0].length && !atRoot };
    };
    let P = plan([main, ...sides], M);
    if (model.outOfTime(P.tree.toks.length, P.masks)) {
      // near the deadline: a smaller pass that still fits (the main draft alone, shorter, no
      // masks, and last the one-token pass) rather than stopping a pass early
      const short = main.slice(0, 4);
      const fits = [plan([main], M), plan([short], M), plan([short], 0), plan([[]], 0)].find((q) => !model.outOfTime(q.tree.toks.length, q.masks));
      if (!fits) return done(true);
      P = fits;
    }
    const { cs: cands, tree, atRoot, linear } = P;
    const d = cands[0];
    const n = tree.toks.length;
    const Mx = P.masks;
    const logits = linear ? await model.pass(d, Mx) : await model.passTree!(tree, Mx, atRoot ? -1 : d.length - 1);
    steps++;
    const kids = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const k = kids.get(tree.parent[i]);
      if (k) k.push(i);
      else kids.set(tree.parent[i], [i]);
    }
    const path: number[] = [];
    let next = -1;
    for (let cur = -1; ; ) {
      const allowed = healLeft.length > 0 ? healAllowed(tok, base, healLeft) : base;
      const [t, p] = best(logits, (cur + 1) * V, V, allowed);
      if (t < 0) return { ...done(false), healFailed: true };
      if (isStop(t)) return done(false);
      out.push(t);
      probs.push(p);
      if (healLeft.length > 0) healLeft = consumeHeal(healLeft, tok.bytes[t]);
      const child = kids.get(cur)?.find((c) => tree.toks[c] === t);
      if (child !== undefined) {
        path.push(child);
        accepted++;
        cur = child;
        if (out.length >= o.maxTokens) return done(false);
        continue;
      }
      next = t;
      break;
    }
    if (linear) model.accept(path.length, next);
    else model.acceptPath!(path, next);
    if (out.length >= o.maxTokens || model.enough?.(out)) break;
    if (M === 0) continue;
    // next draft: the unverified tail of the draft the accepted path followed (when a token was
    // rejected), then, for the main draft, the prediction after it and the mask slots' proposals,
    // all at the positions they were made for
    const m = path.length;
    let owner = 0;
    if (path.some((x, i) => x !== i) || m > d.length) {
      owner = cands.findIndex((c, ci) => ci > 0 && path.every((x, i) => tree.nodesOf[ci][i] === x));
    }
    /** The runners-up of the slot scored by `row`, each followed by the rest of `own`. */
    const runnersUp = (row: number, own: number[]) =>
      topK(logits, row * V, V, base, altN + 1)
        .filter((t) => t !== own[0])
        .slice(0, altN)
        .map((t) => [t, ...own.slice(1)]);
    let own: number[];
    let alts: number[][] = [];
    if (atRoot) {
      // slot j of the block sits j tokens after the decided ones: m + 1 tokens were committed
      own = [];
      for (let j = m + 1; j < Mx; j++) own.push(best(logits, (n + j) * V, V, base)[0]);
      if (m + 1 < Mx && altN > 0) {
        alts = runnersUp(n + m + 1, own);
      }
      const tail = cands[Math.max(0, owner)].slice(m + 1);
      if (tail.length > 0) alts.push(tail);
      if (own.length === 0) own = alts.shift() ?? [];
    } else if (owner <= 0) {
      own = m < d.length ? d.slice(m + 1) : [];
      if (m < d.length) own.push(best(logits, d.length * V, V, base)[0]);
      for (let j = 1; j < Mx; j++) own.push(best(logits, (n + j) * V, V, base)[0]);
      // the whole main draft was accepted: the next draft is the mask slots' proposals, and the
      // runners-up of its first slot, each followed by the rest, are drafts beside it
      if (m === d.length && Mx > 1 && altN > 0) {
        alts = runnersUp(n + 1, own);
      }
    } else own = cands[owner].slice(m + 1);
    drafts = withCopy(own, model.context.concat(out), alts);
    fromOwn = drafts[0] === own;
  }
  return done(false);
}

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
  /** True when a pass with this draft and mask count would end past the deadline (or past the trained positions); throws when cancelled. */
  outOfTime(draft: number, masks: number): boolean;
  /** Called with the tokens so far after each pass; return true to stop. */
  enough?(tokens: readonly number[]): boolean;
  /** The context's tokens before the middle (for drafts copied from it; no <mid>). */
  readonly context: readonly number[];
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
  let draft: number[] = [];
  const M = o.draft ? Math.max(1, o.masks) : 0;
  const done = (truncated: boolean): DraftVerifyResult => ({ tokens: out, probs, steps, truncated, healFailed: healLeft.length > 0, accepted });

  /** The next draft: a copy from the context when there is one (ranked by the model's own draft `own`), else `own`. */
  const withCopy = (own: number[], hist: readonly number[]): number[] => {
    let cands = lookupDrafts(hist, o.maxDraft, o.lookup ?? 0, tok, 8);
    if (healLeft.length > 0) {
      const ok = healAllowed(tok, base, healLeft);
      cands = cands.filter((c) => ok[c.toks[0]] === 1);
    }
    if (cands.length === 0) return own;
    // the model's own draft ranks the copies: most leading tokens in common, then the longest match,
    // then the latest occurrence
    let pick = cands[0];
    let bestScore = -1;
    for (const c of cands) {
      const sc = agree(c.toks, own) * 8 + c.n;
      if (sc > bestScore) {
        bestScore = sc;
        pick = c;
      }
    }
    return pick.toks;
  };
  if (o.lookup && o.draft) draft = withCopy([], model.context);

  while (out.length < o.maxTokens) {
    // verify at most what could still be used, up to and including the first stopper
    let k = Math.min(draft.length, o.maxDraft, o.maxTokens - out.length);
    for (let i = 0; i < k; i++) {
      if (isStop(draft[i])) {
        k = i + 1;
        break;
      }
    }
    const d = draft.slice(0, k);
    if (model.outOfTime(d.length, M)) return done(true);
    const logits = await model.pass(d, M);
    steps++;
    let m = 0;
    let next = -1;
    for (let i = 0; i <= d.length; i++) {
      const allowed = healLeft.length > 0 ? healAllowed(tok, base, healLeft) : base;
      const [t, p] = best(logits, i * V, V, allowed);
      if (t < 0) return { ...done(false), healFailed: true };
      if (isStop(t)) return done(false);
      out.push(t);
      probs.push(p);
      if (healLeft.length > 0) healLeft = consumeHeal(healLeft, tok.bytes[t]);
      if (i < d.length && t === d[i]) {
        m++;
        accepted++;
        if (out.length >= o.maxTokens) return done(false);
        continue;
      }
      next = t;
      break;
    }
    model.accept(m, next);
    if (out.length >= o.maxTokens || model.enough?.(out)) break;
    if (M === 0) continue;
    // next draft: the unverified tail of this one (when a token was rejected), then the prediction
    // after the draft and the mask slots' proposals, all at the positions they were made for
    draft = m < d.length ? d.slice(m + 1) : [];
    if (m < d.length) draft.push(best(logits, d.length * V, V, base)[0]);
    for (let j = 1; j < M; j++) draft.push(best(logits, (d.length + j) * V, V, base)[0]);
    if (o.lookup) draft = withCopy(draft, model.context.concat(out));
  }
  return done(false);
}

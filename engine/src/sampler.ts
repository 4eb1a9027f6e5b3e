/**
 * Block-diffusion decoding: a block of masked slots after the context is refined in parallel.
 * Rules (training/decode.py implements the same for evaluation):
 *  - logits of slot j come from row j (the position before it);
 *  - special tokens are never proposed, except <eot>;
 *  - only the first `window` undecided slots are eligible in a step;
 *  - a stopper (<eot>; in line mode also a newline token) may be committed only when every slot left
 *    of it is decided: at the leftmost undecided slot, or (parallel) in the step in which all the
 *    undecided slots left of it commit, when it and each of them reach the threshold. This prevents the EOS cascade of
 *    masked-diffusion decoding (a stopper decided while the slots before it are still open);
 *  - parallel: commit the leftmost undecided slot and every other eligible slot whose confidence
 *    reaches `threshold`; sequential (the baseline): commit the leftmost undecided slot only;
 *  - token healing: while the typed partial token is not yet reproduced, only the leftmost slot is
 *    committed, restricted to tokens consistent with the remaining healed bytes;
 *  - the fill ends at the first stopper once everything left of it is decided; a block decided
 *    without a stopper is appended to the context and the next block starts (multi-line / span).
 */
import type { CodeTokenizer } from './tokenizer';

export type SamplerMode = 'line' | 'multiline' | 'span';

export interface SamplerOptions {
  mode: SamplerMode;
  blockSize: number;
  threshold: number;
  window: number;
  sequential: boolean;
  maxTokens: number;
  heal: Uint8Array;
  /** First block's initial slots (<mask> = undecided); its length overrides blockSize for that block. */
  init?: readonly number[];
  /** false: never end early with <eot> (a rewrite of fixed length). Default true. */
  allowEot?: boolean;
  /** Sample instead of taking the argmax: temperature and a source of uniform numbers in [0, 1). */
  temperature?: number;
  random?: () => number;
}

export interface SamplerModel {
  /** Logits [>= block.length, V] for the current context followed by `block`. */
  step(block: readonly number[]): Promise<Float32Array>;
  /** Appends a fully decided block to the context (the next block follows it). */
  advance(block: readonly number[]): Promise<void>;
  /** True when the next forward pass (a refinement step, or appending a block) would end past the
   * deadline; throws when cancelled. */
  outOfTime(next?: 'step' | 'advance'): boolean;
  /** Called after each finished block with the tokens so far; return true to stop early. */
  enough?(tokens: readonly number[]): boolean;
}

export interface SamplerResult {
  tokens: number[];
  probs: number[];
  steps: number;
  truncated: boolean;
  /** The healed token was not reproduced (no usable text). */
  healFailed: boolean;
}

export async function sampleBlocks(tok: CodeTokenizer, model: SamplerModel, o: SamplerOptions): Promise<SamplerResult> {
  const V = tok.vocabSize;
  const B = o.blockSize;
  const sp = tok.special;
  const MASK = sp.mask;
  const out: number[] = [];
  const probs: number[] = [];
  let steps = 0;
  let healLeft = o.heal;
  // allowed[t] for tokens that may be proposed at all (specials except <eot> are never proposed)
  const base = proposable(tok, o.allowEot !== false);
  const pickFn = o.temperature && o.random ? (l: Float32Array, off: number, a: Uint8Array) => sampleRow(l, off, V, a, o.temperature!, o.random!) : (l: Float32Array, off: number, a: Uint8Array) => best(l, off, V, a);
  let init = o.init;
  const isStop = (t: number) => t === sp.eot || (o.mode === 'line' && tok.hasNewline[t] === 1);

  while (out.length < o.maxTokens) {
    const block = init ? init.slice() : new Array<number>(B).fill(MASK);
    const Bk = block.length;
    const decided = new Uint8Array(Bk);
    const conf = new Float32Array(Bk);
    block.forEach((t, i) => {
      if (t !== MASK) {
        decided[i] = 1;
        conf[i] = 1;
      }
    });
    init = undefined;
    let stopAt = -1;
    for (;;) {
      let first = decided.indexOf(0);
      if (first < 0) break;
      if (model.outOfTime()) {
        // return what is decided: committed slots up to the first undecided one
        const got = block.slice(0, first);
        const k = firstStop(got, isStop);
        pushTokens(out, probs, got.slice(0, k < 0 ? got.length : k), conf);
        return { tokens: out, probs, steps, truncated: true, healFailed: healLeft.length > 0 };
      }
      const logits = await model.step(block);
      steps++;
      const healing = healLeft.length > 0;
      const allowed = healing ? healAllowed(tok, base, healLeft) : base;
      const width = healing || o.sequential ? 1 : o.window;
      // eligible slots: the first `width` undecided
      const cand: Array<{ slot: number; tok: number; p: number }> = [];
      let stopCand: { slot: number; tok: number; p: number } | undefined;
      for (let s = first, seen = 0; s < Bk && seen < width; s++) {
        if (decided[s]) continue;
        seen++;
        const [t, p] = pickFn(logits, s * V, allowed);
        if (t < 0) continue;
        if (isStop(t) && s !== first) {
          // a stopper right of the leftmost undecided slot: only the first one may join (below)
          stopCand ??= { slot: s, tok: t, p };
          continue;
        }
        cand.push({ slot: s, tok: t, p });
      }
      if (cand.length === 0) {
        // nothing allowed at the leftmost slot (healing found no consistent token): give up
        return { tokens: out, probs, steps, truncated: false, healFailed: true };
      }
      // the leftmost undecided slot always commits (so parallel never takes more steps than one
      // token per step); others join it when the model is confident about them
      const leftmost = cand[0].slot === first ? cand[0] : undefined;
      let commit = o.sequential || healing ? cand.slice(0, 1) : cand.filter((c) => c.p >= o.threshold || c === leftmost);
      if (commit.length === 0) commit = [cand.reduce((a, b) => (b.p > a.p ? b : a))];
      // EOS-cascade guard: a stopper commits only once every slot left of it is decided. It may join
      // this step when the slots left of it all commit in this same step (and it is confident).
      if (stopCand && !(o.sequential || healing) && stopCand.p >= o.threshold) {
        // only slots committed on confidence count (not a forced, unsure leftmost slot)
        const joined = new Set(commit.filter((c) => c.p >= o.threshold).map((c) => c.slot));
        let ok = true;
        for (let s = first; s < stopCand.slot && ok; s++) if (!decided[s] && !joined.has(s)) ok = false;
        if (ok) commit.push(stopCand);
      }
      for (const c of commit) {
        block[c.slot] = c.tok;
        decided[c.slot] = 1;
        conf[c.slot] = c.p;
        if (healing && c.slot === first) healLeft = consumeHeal(healLeft, tok.bytes[c.tok]);
      }
      first = decided.indexOf(0);
      const upto = first < 0 ? Bk : first;
      const k = firstStop(block.slice(0, upto), isStop);
      if (k >= 0) {
        stopAt = k;
        break;
      }
      if (out.length + upto >= o.maxTokens) {
        pushTokens(out, probs, block.slice(0, Math.min(upto, o.maxTokens - out.length)), conf);
        return { tokens: out, probs, steps, truncated: false, healFailed: healLeft.length > 0 };
      }
    }
    if (stopAt >= 0) {
      pushTokens(out, probs, block.slice(0, stopAt), conf);
      return { tokens: out, probs, steps, truncated: false, healFailed: healLeft.length > 0 };
    }
    pushTokens(out, probs, block, conf);
    if (out.length >= o.maxTokens || model.enough?.(out)) break;
    if (model.outOfTime('advance')) return { tokens: out, probs, steps, truncated: true, healFailed: healLeft.length > 0 };
    await model.advance(block);
  }
  return { tokens: out, probs, steps, truncated: false, healFailed: healLeft.length > 0 };
}

function pushTokens(out: number[], probs: number[], toks: readonly number[], conf: Float32Array): void {
  toks.forEach((t, i) => {
    out.push(t);
    probs.push(conf[i]);
  });
}

function firstStop(toks: readonly number[], isStop: (t: number) => boolean): number {
  for (let i = 0; i < toks.length; i++) if (isStop(toks[i])) return i;
  return -1;
}

/** Tokens a decoder may propose: no special token except <eot> (and that only when `eot`). */
export function proposable(tok: CodeTokenizer, eot: boolean): Uint8Array {
  const base = new Uint8Array(tok.vocabSize).fill(1);
  for (let t = 0; t < tok.vocabSize; t++) if (tok.isSpecial[t] && t !== tok.special.eot) base[t] = 0;
  if (!eot) base[tok.special.eot] = 0;
  return base;
}

/** Argmax over allowed tokens of one logits row and its softmax probability (over all tokens). */
export function best(logits: Float32Array, off: number, V: number, allowed: Uint8Array): [number, number] {
  let max = -Infinity;
  let arg = -1;
  let rowMax = -Infinity;
  for (let t = 0; t < V; t++) {
    const l = logits[off + t];
    if (l > rowMax) rowMax = l;
    if (allowed[t] && l > max) {
      max = l;
      arg = t;
    }
  }
  if (arg < 0) return [-1, 0];
  let sum = 0;
  for (let t = 0; t < V; t++) if (allowed[t]) sum += Math.exp(logits[off + t] - rowMax);
  return [arg, Math.exp(max - rowMax) / sum];
}

/** Samples one token of a logits row at a temperature; returns it with its (untempered) probability. */
export function sampleRow(logits: Float32Array, off: number, V: number, allowed: Uint8Array, temp: number, random: () => number): [number, number] {
  let rowMax = -Infinity;
  for (let t = 0; t < V; t++) if (allowed[t] && logits[off + t] > rowMax) rowMax = logits[off + t];
  if (rowMax === -Infinity) return [-1, 0];
  let sumT = 0;
  let sum = 0;
  for (let t = 0; t < V; t++) {
    if (!allowed[t]) continue;
    sumT += Math.exp((logits[off + t] - rowMax) / temp);
    sum += Math.exp(logits[off + t] - rowMax);
  }
  let u = random() * sumT;
  for (let t = 0; t < V; t++) {
    if (!allowed[t]) continue;
    u -= Math.exp((logits[off + t] - rowMax) / temp);
    if (u <= 0) return [t, Math.exp(logits[off + t] - rowMax) / sum];
  }
  return best(logits, off, V, allowed);
}

/** Tokens consistent with the remaining healed bytes h: t starts with h, or h starts with t. */
export function healAllowed(tok: CodeTokenizer, base: Uint8Array, h: Uint8Array): Uint8Array {
  const a = new Uint8Array(tok.vocabSize);
  for (let t = 0; t < tok.vocabSize; t++) {
    if (!base[t] || t === tok.special.eot) continue;
    const b = tok.bytes[t];
    if (b.length === 0) continue;
    const n = Math.min(b.length, h.length);
    let ok = true;
    for (let i = 0; i < n; i++) {
      if (b[i] !== h[i]) {
        ok = false;
        break;
      }
    }
    if (ok) a[t] = 1;
  }
  return a;
}

export function consumeHeal(h: Uint8Array, t: Uint8Array): Uint8Array {
  return t.length >= h.length ? new Uint8Array(0) : h.subarray(t.length);
}

/**
 * Refactor in place, the diffusion way: the model scores every token of the selection with both
 * sides visible, the least likely tokens are masked again and denoised, for a few rounds.
 * Selections longer than a block are rewritten in windows of at most one block, left to right;
 * each window sees the already rewritten text before it and the original text after it.
 */
import { Deadline } from './budget';
import type { DiffillEngine } from './index';
import { AbortError } from './abort';
import { type SamplerModel, sampleBlocks } from './sampler';
import type { RefactorRequest, RefactorResult } from './types';

/** Probability of token t in one logits row (softmax over the whole vocabulary). */
function probOf(logits: Float32Array, off: number, V: number, t: number): number {
  let max = -Infinity;
  for (let k = 0; k < V; k++) if (logits[off + k] > max) max = logits[off + k];
  let sum = 0;
  for (let k = 0; k < V; k++) sum += Math.exp(logits[off + k] - max);
  return Math.exp(logits[off + t] - max) / sum;
}

/**
 * Each token's probability when it is masked: two passes, even slots masked then odd slots, so
 * every token is scored with half of its neighbours visible and the whole context around.
 */
async function score(m: SamplerModel, ids: readonly number[], mask: number, V: number): Promise<number[]> {
  const p = new Array<number>(ids.length).fill(0);
  const passes = ids.length === 1 ? [0] : [0, 1];
  for (const parity of passes) {
    const block = ids.map((t, i) => (i % 2 === parity ? mask : t));
    const logits = await m.step(block);
    for (let i = parity; i < ids.length; i += 2) p[i] = probOf(logits, i * V, V, ids[i]);
  }
  return p;
}

/**
 * Splits tokens into windows of at most `B`, preferring to end a window after a newline token and
 * never between the bytes of one character (a byte-level token may hold half a character).
 */
export function windows(
  ids: readonly number[],
  B: number,
  isNewline: (t: number) => boolean,
  startsMidChar: (t: number) => boolean = () => false,
): number[][] {
  const out: number[][] = [];
  let i = 0;
  while (i < ids.length) {
    let end = Math.min(ids.length, i + B);
    if (end < ids.length) {
      for (let k = end - 1; k > i + B / 2; k--) {
        if (isNewline(ids[k])) {
          end = k + 1;
          break;
        }
      }
      while (end > i + 1 && end < ids.length && startsMidChar(ids[end])) end--;
    }
    out.push(ids.slice(i, end));
    i = end;
  }
  return out;
}

/** UTF-16 offset of every UTF-8 byte offset of `text` (length: bytes + 1). */
function byteToChar(text: string): Uint32Array {
  const bytes = Buffer.byteLength(text, 'utf8');
  const map = new Uint32Array(bytes + 1);
  let b = 0;
  for (let c = 0; c < text.length; c++) {
    const code = text.codePointAt(c)!;
    const n = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++) map[b + k] = c;
    b += n;
    if (code >= 0x10000) c++; // surrogate pair: two UTF-16 units
  }
  map[bytes] = text.length;
  return map;
}

export async function rewriteWindows(engine: DiffillEngine, req: RefactorRequest): Promise<RefactorResult> {
  const t0 = performance.now();
  const signal = req.signal;
  if (signal?.aborted) throw new AbortError();
  const deadline = new Deadline(t0, req.budgetMs ?? 5000);
  const tok = engine.tok;
  const V = tok.vocabSize;
  const B = engine.conf.block_size;
  const MASK = tok.special.mask;
  const forwards0 = engine.session.forwards;
  const rounds = Math.max(1, Math.min(req.rounds ?? 3, 8));
  const threshold = req.threshold ?? 0.05;
  const maxFraction = req.maxFraction ?? 0.25;
  const ids = tok.encode(req.selection);
  const wins = windows(ids, B, (t) => tok.hasNewline[t] === 1, (t) => tok.bytes[t].length > 0 && (tok.bytes[t][0] & 0xc0) === 0x80);
  const b2c = byteToChar(req.selection);
  let bytePos = 0;
  const original: RefactorResult['original'] = [];
  let done = '';
  let consumed = 0; // characters of the original selection covered by finished windows
  let roundsRun = 0;
  let truncated = false;
  for (const w of wins) {
    const wText = tok.decode(w);
    if (deadline.cannotFit(engine.session.predictStepMs() * 3 + engine.session.predictExtendMs(200))) {
      // out of time: the rest of the selection stays as it was
      truncated = true;
      done += req.selection.slice(consumed);
      break;
    }
    const after = req.selection.slice(consumed + wText.length) + req.suffix;
    const { model } = await engine.open(req.prefix + done, after, '\0refactor', deadline, signal, false);
    const first = await score(model(), w, MASK, V);
    w.forEach((t, i) => {
      const n = tok.bytes[t].length;
      const start = b2c[Math.min(bytePos, b2c.length - 1)];
      const end = b2c[Math.min(bytePos + n, b2c.length - 1)];
      original.push({ text: req.selection.slice(start, end), p: first[i], start, end });
      bytePos += n;
    });
    let cur = w.slice();
    let scores = first;
    for (let r = 0; r < rounds; r++) {
      if (deadline.cannotFit(engine.session.predictStepMs() * 3)) {
        truncated = true;
        break;
      }
      const low = scores
        .map((p, i) => [p, i] as const)
        .filter(([p]) => p < threshold)
        .sort((a, b) => a[0] - b[0])
        .slice(0, Math.max(1, Math.floor(cur.length * maxFraction)))
        .map(([, i]) => i);
      if (low.length === 0) break;
      const init = cur.map((t, i) => (low.includes(i) ? MASK : t));
      const res = await sampleBlocks(tok, model(), {
        mode: 'span',
        blockSize: cur.length,
        threshold: 0.9,
        window: 8,
        sequential: false,
        maxTokens: cur.length,
        heal: new Uint8Array(0),
        init,
        allowEot: false,
      });
      roundsRun++;
      if (res.truncated || res.tokens.length !== cur.length) {
        truncated = res.truncated;
        break;
      }
      if (res.tokens.every((t, i) => t === cur[i])) break;
      cur = res.tokens;
      scores = await score(model(), cur, MASK, V);
    }
    done += tok.decode(cur);
    consumed += wText.length;
  }
  return {
    text: done,
    changed: done !== req.selection,
    original,
    rounds: roundsRun,
    forwards: engine.session.forwards - forwards0,
    ms: performance.now() - t0,
    truncated,
  };
}

/**
 * Turns (prefix, suffix) into the model's context, laid out as training did:
 *
 *     <suf> suffix <pre> prefix-lines open-line-tokens | healed token | <mid> block...
 *     '------------------ stable ------------------'
 *
 * Everything but the healed token is `stable` and lives in the KV cache: typing inside a word
 * changes only the healed token, so the context costs nothing; a new word appends a token or two.
 * Token healing: when the cursor is not at a line start, the last token of the line is backed off
 * and the sampler constrains the first generated token(s) to extend it. (`tail` is kept for
 * callers that feed extra tokens per request; buildContext leaves it empty.)
 *
 * The prefix window is sticky: it starts at a line start and moves only when the context outgrows
 * its budget, so the cache survives thousands of keystrokes in long files.
 */
import type { CodeTokenizer } from './tokenizer';

/** Longer lines are cut to their last MAX_LINE characters (minified code, data files). */
const MAX_LINE = 2000;

export interface BuiltContext {
  stable: number[];
  tail: number[];
  /** Bytes of the backed-off token that the completion must start with (empty: no healing). */
  heal: Uint8Array;
  /** Character offset in `prefix` where the window starts (a line start). */
  startOffset: number;
  suffixTokens: number;
  /** Character offset in `suffix` where the window's suffix ends. */
  suffixEnd: number;
}

export interface ContextLimits {
  /** Most tokens of suffix + prefix (the block comes on top). */
  maxTokens: number;
  /** Most tokens of suffix. */
  maxSuffixTokens: number;
}

export function buildContext(
  tok: CodeTokenizer,
  prefix: string,
  suffix: string,
  limits: ContextLimits,
  startHint?: number,
  heal = true,
): BuiltContext {
  const sp = tok.special;
  // Suffix: whole lines from the cursor while they fit.
  const suf: number[] = [];
  let pos = 0;
  while (pos < suffix.length && suf.length < limits.maxSuffixTokens) {
    const nl = suffix.indexOf('\n', pos);
    const end = nl < 0 ? suffix.length : nl + 1;
    const ids = tok.encodeLine(suffix.slice(pos, Math.min(end, pos + MAX_LINE)));
    if (suf.length + ids.length > limits.maxSuffixTokens) {
      if (suf.length === 0) suf.push(...ids.slice(0, limits.maxSuffixTokens));
      break;
    }
    suf.push(...ids);
    pos = end;
  }
  // The open line (after the last newline) and the healed token.
  const lineStart = prefix.lastIndexOf('\n') + 1;
  const open = prefix.slice(Math.max(lineStart, prefix.length - MAX_LINE));
  let tail = open.length > 0 ? tok.encode(open) : [];
  const maxTail = Math.floor(limits.maxTokens / 2);
  if (tail.length > maxTail) tail = tail.slice(-maxTail);
  const healing = heal;
  let healBytes: Uint8Array = new Uint8Array(0);
  if (tail.length > 0 && healing) {
    healBytes = tok.bytes[tail[tail.length - 1]];
    tail = tail.slice(0, -1);
  }
  const budget = Math.max(16, limits.maxTokens - suf.length - 2 - tail.length);
  // Lines of the window, walking back from the open line.
  const fits = (from: number, cap: number): number[] | undefined => {
    const parts: number[][] = [];
    let n = 0;
    let end = lineStart;
    while (end > from) {
      const s = (end >= 2 ? prefix.lastIndexOf('\n', end - 2) + 1 : 0);
      const start = Math.max(s, from);
      const ids = tok.encodeLine(prefix.slice(Math.max(start, end - MAX_LINE), end));
      n += ids.length;
      if (n > cap) return undefined;
      parts.push(ids);
      end = start;
    }
    const out: number[] = [];
    for (let i = parts.length - 1; i >= 0; i--) for (const id of parts[i]) out.push(id);
    return out;
  };
  let startOffset = 0;
  let pre: number[] | undefined;
  if (startHint !== undefined && startHint <= lineStart && (startHint === 0 || prefix[startHint - 1] === '\n')) {
    pre = fits(startHint, budget);
    if (pre) startOffset = startHint;
  }
  if (!pre) {
    pre = fits(0, budget);
    startOffset = 0;
  }
  if (!pre) {
    // Too long: keep the last ~80 % of the budget so that typing does not move the window at once.
    const cap = Math.floor(budget * 0.8);
    const parts: number[][] = [];
    let n = 0;
    let end = lineStart;
    while (end > 0) {
      const s = (end >= 2 ? prefix.lastIndexOf('\n', end - 2) + 1 : 0);
      const ids = tok.encodeLine(prefix.slice(Math.max(s, end - MAX_LINE), end));
      if (n + ids.length > cap) break;
      n += ids.length;
      parts.push(ids);
      end = s;
    }
    startOffset = end;
    pre = [];
    for (let i = parts.length - 1; i >= 0; i--) for (const id of parts[i]) pre.push(id);
  }
  // The open line's tokens join the cached part too: typing inside a word changes only the healed
  // token (no model call for the context), a new word adds a token or two (a one-token extension).
  const stable = [sp.suf, ...suf, sp.pre, ...pre, ...tail];
  return { stable, tail: [], heal: healBytes, startOffset, suffixTokens: suf.length, suffixEnd: pos };
}

/**
 * The document around the window, as tokens for drafts copied from it: up to `chars` characters of
 * the suffix after the window, then of the prefix before it (lookups prefer later, nearer
 * occurrences), whole lines only, a <pad> after each part. Lines already in the tokenizer's line
 * cache cost nothing; others are encoded up to `encodeChars` in all and skipped beyond that (a <pad>
 * marks the gap), so a fresh document's far text joins the cache over a few fills instead of costing
 * its first fill ~80 ms of BPE.
 */
export function farContext(tok: CodeTokenizer, prefix: string, suffix: string, ctx: BuiltContext, chars: number, encodeChars: number): number[] {
  const out: number[] = [];
  if (chars <= 0) return out;
  const after = suffix.slice(ctx.suffixEnd, ctx.suffixEnd + chars);
  const before = prefix.slice(Math.max(0, ctx.startOffset - chars), ctx.startOffset);
  // whole lines only (cut lines would tokenize differently and miss the line cache)
  const a = ctx.suffixEnd + chars < suffix.length ? after.slice(0, after.lastIndexOf('\n') + 1) : after;
  const b = ctx.startOffset > chars ? before.slice(before.indexOf('\n') + 1) : before;
  const pad = tok.special.pad;
  let budget = encodeChars;
  for (const part of [a, b]) {
    if (part.length === 0) continue;
    let gap = false;
    for (let at = 0; at < part.length; ) {
      const nl = part.indexOf('\n', at);
      const end = nl < 0 ? part.length : nl + 1;
      const line = part.slice(at, end);
      at = end;
      let ids = tok.cachedLine(line);
      if (!ids && budget >= line.length) {
        budget -= line.length;
        ids = tok.encodeLine(line);
      }
      if (!ids) {
        if (!gap) out.push(pad);
        gap = true;
        continue;
      }
      gap = false;
      for (const t of ids) out.push(t);
    }
    out.push(pad);
  }
  return out;
}

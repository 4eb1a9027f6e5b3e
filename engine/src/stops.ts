/**
 * Where a fill should end, decided on text.
 *  - chooseMode: 'auto' becomes multi-line when the cursor opens a block or sits on an empty line.
 *  - cutMultiline: a multi-line completion ends before a line that dedents below where it started,
 *    or before a line the suffix already has (the model would otherwise repeat the code below).
 */
import type { FillMode } from './types';
import type { SamplerMode } from './sampler';

const OPENERS = /(?:[:{([]|=>|\bdo|\bthen)\s*$/;

export function chooseMode(mode: FillMode | undefined, prefix: string, suffix: string): SamplerMode {
  if (mode === 'line' || mode === 'span') return mode;
  if (mode === 'multiline') return 'multiline';
  if (blankLine(prefix, suffix)) {
    // empty line: multi-line when the line above opens a block, else one line
    const openLine = prefix.slice(prefix.lastIndexOf('\n') + 1);
    const before = prefix.slice(0, prefix.length - openLine.length).replace(/\s+$/, '');
    const prevLine = before.slice(before.lastIndexOf('\n') + 1);
    return OPENERS.test(prevLine) ? 'multiline' : 'line';
  }
  return 'line';
}

/** The cursor's line holds nothing but whitespace, before and after the cursor. */
export function blankLine(prefix: string, suffix: string): boolean {
  const openLine = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  return openLine.trim() === '' && (nl < 0 ? suffix : suffix.slice(0, nl)).trim() === '';
}

/**
 * The rest of the cursor's line (`rest`, up to the suffix's first newline) and the next non-blank
 * line below it without trailing whitespace (`next`); undefined when there is none.
 */
export function lineBelow(suffix: string): { rest: string; next: string } | undefined {
  const nl = suffix.indexOf('\n');
  if (nl < 0) return undefined;
  for (let at = nl + 1; at < suffix.length; ) {
    const end = suffix.indexOf('\n', at);
    const line = suffix.slice(at, end < 0 ? suffix.length : end);
    if (line.trim() !== '') return { rest: suffix.slice(0, nl), next: line.trimEnd() };
    if (end < 0) break;
    at = end + 1;
  }
  return undefined;
}

function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n++;
    else if (ch === '\t') n += 4;
    else break;
  }
  return n;
}

/** Cuts a multi-line completion. `openLine` is the text of the cursor's line before the cursor. */
export function cutMultiline(text: string, openLine: string, suffix: string): { text: string; cut: boolean } {
  const lines = text.split('\n');
  // indentation of the block being written: the first non-empty line (the open line counts)
  let base = -1;
  const first = openLine + lines[0];
  if (first.trim() !== '') base = indentOf(first);
  const nextSuffixLine = suffix
    .split('\n')
    .slice(1)
    .find((l) => l.trim() !== '')
    ?.trim();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    if (base < 0) {
      base = indentOf(l);
      continue;
    }
    const dedent = indentOf(l) < base;
    const repeat = nextSuffixLine !== undefined && l.trim() === nextSuffixLine;
    if (dedent || repeat) {
      return { text: lines.slice(0, i).join('\n').replace(/\s+$/, ''), cut: true };
    }
  }
  return { text, cut: false };
}

/**
 * Cuts degenerate repetition, the failure mode of a weak model filling far to the right:
 * a run of the same 2-12 characters (with a letter in them) repeated 4+ times ("_pre_pre_pre_pre")
 * is cut after its first occurrence (separators like "----" and numbers like 1000000 are left alone), and a non-trivial line equal to the line before it ends the completion there.
 */
export function cutRepetition(text: string): { text: string; cut: boolean } {
  let out = text;
  let cut = false;
  const run = /(.{2,12}?)\1{3,}/s.exec(out);
  if (run && /[A-Za-z_]/.test(run[1])) {
    out = out.slice(0, run.index + run[1].length);
    cut = true;
  }
  const lines = out.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t.length > 3 && t === lines[i - 1].trim()) {
      out = lines.slice(0, i).join('\n');
      cut = true;
      break;
    }
  }
  return { text: cut ? out.replace(/\s+$/, '') : out, cut };
}

/**
 * Where to cut a multi-line completion before its first unsure line: the first line after the
 * first that holds a token the model gave a probability under `minP` (whitespace-only lines never
 * count). `text` is the completion's UTF-8 bytes; `spans` the generated tokens' byte ranges in it
 * (a healed first token starts before 0) with their probabilities. Returns the byte offset of the
 * line break before that line, or undefined when every line is sure enough. The first line is
 * never cut: the user asked for something there.
 *
 * Measured in session 20 on the 300 multi-line tasks of models/diffill-code-24m/eval_tasks.jsonl.gz
 * in the editor's multi-line mode (`node scripts/eval-multiline.mjs --min-line-p 0,0.2`): the 21m
 * showed 904 lines of which 76 matched the reference line for line from the top; cutting at a
 * token under 0.2 leaves 529 lines of which 63 match (44 % fewer wrong lines for 17 % fewer right
 * ones; README "Multi-line ghost text").
 */
export function unsureLineCut(text: Uint8Array, spans: ReadonlyArray<{ start: number; end: number; p: number }>, minP: number): number | undefined {
  if (!(minP > 0)) return undefined;
  let lineStart = text.indexOf(10) + 1;
  if (lineStart === 0) return undefined;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf(10, lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let blank = true;
    for (let i = lineStart; i < lineEnd && blank; i++) blank = text[i] === 32 || text[i] === 9 || text[i] === 13;
    if (!blank) {
      let low = Infinity;
      for (const s of spans) if (s.start < lineEnd && s.end > lineStart) low = Math.min(low, s.p);
      if (low < minP) return lineStart - 1;
    }
    lineStart = lineEnd + 1;
  }
  return undefined;
}

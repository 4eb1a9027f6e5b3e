/**
 * Gathers what the model sees around the cursor: a prefix and a suffix window cut from the
 * document, sized from the context budget in tokens, plus the facts about the cursor line that the
 * post-processing filters and the mode choice need.
 */

/** Characters per token of the byte-level BPE on code, rounded up so the window is never short. */
export const CHARS_PER_TOKEN = 4;
/** Granularity of the prefix window's start, in characters. */
export const PREFIX_GRID = 4096;
/** Share of the context budget given to the text before the cursor. */
export const PREFIX_SHARE = 0.75;

export type LineMode = 'line' | 'multiline';

export interface CompletionContext {
  /** Text before the cursor, '\n' line endings, at most the prefix window. */
  prefix: string;
  /** Text after the cursor, '\n' line endings, at most the suffix window. */
  suffix: string;
  /** The cursor line up to the cursor. */
  linePrefix: string;
  /** The cursor line after the cursor. */
  lineSuffix: string;
  /** Leading whitespace of the cursor line. */
  indent: string;
  /** Line ending of the document: completions are converted back to it. */
  eol: '\n' | '\r\n';
  mode: LineMode;
}

/** The document's dominant line ending (the first one found). */
export function detectEol(text: string): '\n' | '\r\n' {
  const lf = text.indexOf('\n');
  return lf > 0 && text[lf - 1] === '\r' ? '\r\n' : '\n';
}

/** CRLF and lone CR become LF: the model was trained on '\n'. */
export function normalizeEol(text: string): string {
  return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

/**
 * Single-line when the cursor has text after it on its line or text before it (the user is in the
 * middle of a statement); multi-line on a blank line (the user is starting new code).
 */
export function chooseMode(linePrefix: string, lineSuffix: string): LineMode {
  return linePrefix.trim() === '' && lineSuffix.trim() === '' ? 'multiline' : 'line';
}

/**
 * @param text   the whole document
 * @param offset the cursor as an offset into `text` (0..text.length)
 * @param maxContextTokens context budget in tokens, prefix and suffix together
 */
export function extractContext(text: string, offset: number, maxContextTokens: number): CompletionContext {
  const at = Math.max(0, Math.min(offset, text.length));
  const budget = Math.max(16, maxContextTokens) * CHARS_PER_TOKEN;
  const prefixChars = Math.floor(budget * PREFIX_SHARE);
  const suffixChars = budget - prefixChars;

  // The window's start snaps to a coarse grid, so it stays put while the user types: the engine
  // keeps a KV cache of the context and reuses it only while the text before the cursor starts at
  // the same place (it trims the window to its token budget itself).
  let start = Math.max(0, Math.floor((at - prefixChars) / PREFIX_GRID) * PREFIX_GRID);
  if (start > 0) {
    // Start at a line boundary so the model never sees half a line (nor half a CRLF).
    const nl = text.indexOf('\n', start);
    if (nl >= 0 && nl < at) start = nl + 1;
  }
  let end = Math.min(text.length, at + suffixChars);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end);
    if (nl > at) end = nl;
  }

  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  let lineEnd = text.indexOf('\n', at);
  if (lineEnd < 0) lineEnd = text.length;
  const linePrefix = text.slice(lineStart, at);
  const lineSuffix = text.slice(at, lineEnd).replace(/\r$/, '');

  return {
    prefix: normalizeEol(text.slice(start, at)),
    suffix: normalizeEol(text.slice(at, end)),
    linePrefix,
    lineSuffix,
    indent: /^[ \t]*/.exec(linePrefix)![0],
    eol: detectEol(text),
    mode: chooseMode(linePrefix, lineSuffix),
  };
}

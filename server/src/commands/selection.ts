/**
 * The pure part of the selection commands (Infill Selection, Refactor Selection): checking a
 * selection, cutting the document into what the engine sees (prefix, selection, suffix with '\n'
 * line endings), and mapping the engine's answer back onto the document (its line endings, its
 * offsets, an edit that stays inside the selection). No LSP, no engine: the CLI and the server
 * both use it, and the unit tests drive it directly.
 */
import { detectEol, normalizeEol } from '../completion/context';
import { MAX_SELECTION_LINES, type SelectionErrorReason } from '../protocol';

/** A selection the commands refuse, with the reason the client can act on. */
export class SelectionError extends Error {
  constructor(
    readonly reason: SelectionErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'SelectionError';
  }
}

export interface CheckOptions {
  /** Refactor needs text to rewrite; infill may run at a cursor. */
  requireText: boolean;
}

/**
 * Throws a SelectionError for what the model cannot work on: an empty document, binary content
 * (NUL bytes), a selection over MAX_SELECTION_LINES lines, an empty selection where text is needed.
 * `start` and `end` are offsets into `text`, start <= end.
 */
export function checkSelection(text: string, start: number, end: number, opts: CheckOptions): void {
  if (text.trim() === '') throw new SelectionError('empty-document', 'the document is empty: there is nothing for the model to go on');
  if (text.includes('\0')) throw new SelectionError('binary', 'the document holds binary content (NUL bytes)');
  const lines = lineCount(text, start, end);
  if (lines > MAX_SELECTION_LINES) {
    throw new SelectionError('too-many-lines', `the selection spans ${lines} lines; select at most ${MAX_SELECTION_LINES}`);
  }
  if (opts.requireText && text.slice(start, end).trim() === '') {
    throw new SelectionError('empty-selection', 'select the code to work on first');
  }
}

/** Lines touched by text[start, end) (a cursor is one line). */
function lineCount(text: string, start: number, end: number): number {
  let n = 1;
  for (let i = text.indexOf('\n', start); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * A text with its line endings normalised to '\n', and the way back: offsets in the normalised
 * text map onto the original (each CRLF lost one character).
 */
export class Normalized {
  readonly text: string;
  /** Normalised offsets of the '\n's whose '\r' was dropped, ascending. */
  private readonly dropped: number[] = [];

  constructor(readonly original: string) {
    this.text = normalizeEol(original);
    if (this.text.length === original.length) return;
    for (let i = original.indexOf('\r\n'); i >= 0; i = original.indexOf('\r\n', i + 2)) {
      this.dropped.push(i - this.dropped.length);
    }
  }

  /** The original offset of normalised offset `n` (an offset at a '\n' lands before its '\r'). */
  toOriginal(n: number): number {
    let lo = 0;
    let hi = this.dropped.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.dropped[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    return n + lo;
  }
}

/** Text from the engine ('\n' line endings) in the document's line endings. */
export function toDocumentEol(text: string, eol: '\n' | '\r\n'): string {
  return eol === '\r\n' ? text.replace(/\r?\n/g, '\r\n') : text;
}

/** What the engine sees of a document around a selection. */
export interface SelectionParts {
  /** Text before the selection, '\n' line endings, cut at a line start to a window. */
  prefix: string;
  /** The selection, '\n' line endings, with the way back to document offsets. */
  selection: Normalized;
  /** Text after the selection, '\n' line endings, cut at a line end to a window. */
  suffix: string;
  /** The document's line ending: answers are converted back to it. */
  eol: '\n' | '\r\n';
}

/**
 * Cuts `text` around [start, end). `windowChars` bounds prefix and suffix (the engine trims to its
 * token budget itself; this only keeps megabyte files from being copied around).
 */
export function splitAtSelection(text: string, start: number, end: number, windowChars: number): SelectionParts {
  let from = Math.max(0, start - windowChars);
  if (from > 0) {
    const nl = text.indexOf('\n', from);
    from = nl >= 0 && nl < start ? nl + 1 : start;
  }
  let to = Math.min(text.length, end + windowChars);
  if (to < text.length) {
    const nl = text.lastIndexOf('\n', to);
    to = nl >= end ? nl + 1 : end;
  }
  return {
    prefix: normalizeEol(text.slice(from, start)),
    selection: new Normalized(text.slice(start, end)),
    suffix: normalizeEol(text.slice(end, to)),
    eol: detectEol(text),
  };
}

/** One replacement inside a text: [start, end) becomes newText. */
export interface OffsetEdit {
  start: number;
  end: number;
  newText: string;
}

/**
 * The smallest single edit turning `before` into `after` (common prefix and suffix kept), or
 * undefined when they are equal. It never cuts a surrogate pair or a CRLF in two.
 */
export function minimalEdit(before: string, after: string): OffsetEdit | undefined {
  if (before === after) return undefined;
  const max = Math.min(before.length, after.length);
  let head = 0;
  while (head < max && before.charCodeAt(head) === after.charCodeAt(head)) head++;
  let tail = 0;
  while (tail < max - head && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)) tail++;
  const splits = (s: string, i: number): boolean =>
    i > 0 && i < s.length && ((isHigh(s.charCodeAt(i - 1)) && isLow(s.charCodeAt(i))) || (s[i - 1] === '\r' && s[i] === '\n'));
  while (head > 0 && (splits(before, head) || splits(after, head))) head--;
  while (tail > 0 && (splits(before, before.length - tail) || splits(after, after.length - tail))) tail--;
  return { start: head, end: before.length - tail, newText: after.slice(head, after.length - tail) };
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Applies non-overlapping edits (any order) to `text`. */
export function applyEdits(text: string, edits: readonly OffsetEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/**
 * The model's confidence per token of the original selection, as document offsets. The tokens are
 * laid onto the normalised selection by their text, not by the engine's offsets: a character whose
 * bytes are split across tokens decodes to U+FFFD in each part, which would shift every offset
 * after it. Such a run of partial tokens gets the characters up to where the next whole token
 * matches, and the lowest p of the run. Tokens that cannot be placed end the list.
 */
export function confidenceSpans(
  tokens: ReadonlyArray<{ text: string; p: number }>,
  selection: Normalized,
  selectionStart: number,
): Array<{ start: number; end: number; p: number }> {
  const sel = selection.text;
  const out: Array<{ start: number; end: number; p: number }> = [];
  const push = (s: number, e: number, p: number): void => {
    if (e > s) out.push({ start: selectionStart + selection.toOriginal(s), end: selectionStart + selection.toOriginal(e), p });
  };
  const whole = (t: { text: string }): boolean => t.text !== '' && !t.text.includes('\uFFFD');
  let pos = 0;
  for (let i = 0; i < tokens.length && pos < sel.length; ) {
    const t = tokens[i];
    if (whole(t) && sel.startsWith(t.text, pos)) {
      push(pos, pos + t.text.length, t.p);
      pos += t.text.length;
      i++;
      continue;
    }
    // a run of partial (or unplaceable) tokens: up to the next whole token that matches ahead
    let j = i + 1;
    while (j < tokens.length && !whole(tokens[j])) j++;
    // the run's decodable characters lie before the next token: search from past them
    const known = tokens.slice(i, j).reduce((n, x) => n + x.text.replace(/\uFFFD/g, '').length, 0);
    const next = j < tokens.length ? sel.indexOf(tokens[j].text, pos + Math.max(1, known)) : sel.length;
    if (next < 0 || next - pos > 8 * (j - i)) break; // lost: better no tint than a wrong one
    push(pos, next, Math.min(...tokens.slice(i, j).map((x) => x.p)));
    pos = next;
    i = j;
  }
  return out;
}

/** How many U+FFFD (undecodable bytes) a text holds. */
export function replacementChars(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

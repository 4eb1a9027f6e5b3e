/**
 * Post-processing: the raw text the engine returns goes through a chain of small named filters
 * before it becomes ghost text. Each filter is a pure function of the text and the cursor's
 * surroundings, so each can be tested alone and the chain can be reordered or trimmed.
 */

export type PostMode = 'line' | 'multiline' | 'span';

export interface PostContext {
  mode: PostMode;
  /** Text before the cursor ('\n' line endings); only its tail is looked at. */
  prefix: string;
  /** Text after the cursor ('\n' line endings). */
  suffix: string;
  /** The cursor line up to the cursor. */
  linePrefix: string;
  /** The cursor line after the cursor. */
  lineSuffix: string;
}

export interface Filter {
  readonly name: string;
  apply(text: string, ctx: PostContext): string;
}

/** Most lines a multi-line completion may have. */
export const MAX_LINES = 16;

const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

// ---- the filters, in the order the chain runs them --------------------------------------------

/** The model was fed '\n'; make sure nothing else comes out. */
export const normalizeNewlines: Filter = {
  name: 'normalizeNewlines',
  apply: (text) => (text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n')),
};

/** Single-line mode: the completion ends at the end of the cursor's line. */
export const singleLineStop: Filter = {
  name: 'singleLineStop',
  apply(text, ctx) {
    if (ctx.mode !== 'line') return text;
    const nl = text.indexOf('\n');
    return nl < 0 ? text : text.slice(0, nl);
  },
};

/**
 * The user already typed the indentation of a blank line: a completion that starts with
 * whitespace again would double it.
 */
export const keepIndentation: Filter = {
  name: 'keepIndentation',
  apply(text, ctx) {
    if (ctx.mode === 'span' || ctx.linePrefix === '' || ctx.linePrefix.trim() !== '') return text;
    return text.replace(/^[ \t]+/, '');
  },
};

/**
 * Multi-line mode: stop at the end of the block the cursor is in (a line indented less than the
 * first one), at a blank line, at a line the suffix already has next, or after MAX_LINES lines.
 */
export const multiLineStop: Filter = {
  name: 'multiLineStop',
  apply(text, ctx) {
    if (ctx.mode !== 'multiline') return text;
    const lines = text.split('\n');
    const firstIndent = indentWidth(ctx.linePrefix + (/^[ \t]*/.exec(lines[0])![0]));
    const nextSuffixLine = ctx.suffix
      .split('\n')
      .slice(1) // the rest of the cursor line is not a line of its own
      .find((l) => l.trim() !== '')
      ?.trim();
    const kept: string[] = [];
    for (let i = 0; i < lines.length && kept.length < MAX_LINES; i++) {
      const line = lines[i];
      if (i > 0) {
        if (line.trim() === '') break;
        if (indentWidth(/^[ \t]*/.exec(line)![0]) < firstIndent) break;
      }
      if (nextSuffixLine !== undefined && line.trim() === nextSuffixLine && (i > 0 || line.trim() !== '')) break;
      kept.push(line);
    }
    return kept.join('\n');
  },
};

/**
 * The completion ends with the rest of the cursor line, which is already in the document
 * (`foo(a, b)` typed before `)`): drop the repeated tail. Closing brackets in that tail are only
 * dropped when they close something opened before the completion, never the completion's own.
 */
export const dropSuffixRepeat: Filter = {
  name: 'dropSuffixRepeat',
  apply(text, ctx) {
    if (ctx.mode === 'span') return text;
    const rest = ctx.lineSuffix.trim();
    if (rest === '') return text;
    const body = text.trimEnd();
    if (!body.endsWith(rest)) return text;
    const head = body.slice(0, body.length - rest.length);
    const stack = bracketStack(head);
    const headDepth = stack.length;
    for (const ch of rest) {
      if (OPENERS[ch]) stack.push(ch);
      else if (CLOSERS[ch]) {
        if (stack.length === 0) continue; // closes a bracket of the prefix
        if (stack[stack.length - 1] !== CLOSERS[ch]) return text; // mismatched: leave it alone
        if (stack.length <= headDepth) return text; // closes the completion's own bracket
        stack.pop();
      }
    }
    // Closers in the tail that close prefix brackets are a repeat only if, with them kept, the
    // completion and the rest of the line together would close more than the prefix opened.
    if (outerClosers(body) > outerClosers(head)) {
      const open = bracketStack(tail(ctx.prefix)).length;
      if (outerClosers(body) + leadingClosers(ctx.lineSuffix).length <= open) return text;
    }
    return head;
  },
};

/**
 * Closing brackets at the end of the completion that close something opened before the cursor,
 * while the rest of the line closes it too: keep only as many as the prefix still needs.
 */
export const balanceBrackets: Filter = {
  name: 'balanceBrackets',
  apply(text, ctx) {
    if (ctx.mode === 'span') return text;
    const supplied = leadingClosers(ctx.lineSuffix);
    if (supplied === '') return text;
    const open = bracketStack(tail(ctx.prefix)); // unmatched openers before the cursor
    let out = text.trimEnd();
    while (CLOSERS[out[out.length - 1]] && outerClosersAtEnd(out) > 0) {
      if (outerClosers(out) + supplied.length <= open.length) break;
      out = out.slice(0, -1);
    }
    return out.length === text.trimEnd().length ? text : out;
  },
};

/** No trailing blanks at line ends; no trailing newlines; keep a trailing space mid-line. */
export const trimTrailingWhitespace: Filter = {
  name: 'trimTrailingWhitespace',
  apply(text, ctx) {
    const lines = text.split('\n').map((l, i, all) =>
      i < all.length - 1 || ctx.lineSuffix.trim() === '' ? l.trimEnd() : l,
    );
    while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  },
};

/** Nothing but whitespace is no completion. */
export const dropBlank: Filter = {
  name: 'dropBlank',
  apply: (text) => (text.trim() === '' ? '' : text),
};

export const DEFAULT_FILTERS: readonly Filter[] = [
  normalizeNewlines,
  singleLineStop,
  keepIndentation,
  multiLineStop,
  dropSuffixRepeat,
  balanceBrackets,
  trimTrailingWhitespace,
  dropBlank,
];

/** Runs the chain. `trace` (optional) receives the filters that changed the text. */
export function postprocess(
  text: string,
  ctx: PostContext,
  filters: readonly Filter[] = DEFAULT_FILTERS,
  trace?: (filter: string, before: string, after: string) => void,
): string {
  let out = text;
  for (const f of filters) {
    const next = f.apply(out, ctx);
    if (trace && next !== out) trace(f.name, out, next);
    out = next;
  }
  return out;
}

// ---- helpers ----------------------------------------------------------------------------------

function indentWidth(ws: string): number {
  let w = 0;
  for (const ch of ws) w += ch === '\t' ? 4 : 1;
  return w;
}

/** The last few lines of the prefix: enough for any bracket still open at the cursor. */
function tail(prefix: string, chars = 4000): string {
  return prefix.length <= chars ? prefix : prefix.slice(prefix.length - chars);
}

/**
 * Openers left unmatched in `code`, innermost last. Skips string literals and line comments
 * (roughly: `#` and `//`), which is enough to count brackets on real code.
 */
export function bracketStack(code: string): string[] {
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = 0; i < code.length; i++) {
    const ch = code[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote || (ch === '\n' && quote !== '`')) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '#' || (ch === '/' && code[i + 1] === '/')) {
      const nl = code.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if (OPENERS[ch]) stack.push(ch);
    else if (CLOSERS[ch]) {
      if (stack.length > 0 && stack[stack.length - 1] === CLOSERS[ch]) stack.pop();
      else if (stack.length > 0) stack.pop(); // mismatched: resynchronise
    }
  }
  return stack;
}

/** The closing brackets the rest of the line starts with (whitespace between them ignored). */
function leadingClosers(lineSuffix: string): string {
  return /^[\s)\]}]*/.exec(lineSuffix)![0].replace(/\s/g, '');
}

/** How many closers in `code` have no opener in `code` (they close brackets from before it). */
function outerClosers(code: string): number {
  let depth = 0;
  let outer = 0;
  let quote: string | null = null;
  for (let i = 0; i < code.length; i++) {
    const ch = code[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (OPENERS[ch]) depth++;
    else if (CLOSERS[ch]) {
      if (depth > 0) depth--;
      else outer++;
    }
  }
  return outer;
}

/** How many of the closers at the very end of `code` are outer closers. */
function outerClosersAtEnd(code: string): number {
  const m = /[)\]}]+$/.exec(code);
  if (!m) return 0;
  return Math.min(m[0].length, outerClosers(code) - outerClosers(code.slice(0, m.index)));
}

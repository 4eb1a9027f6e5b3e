/**
 * Filters for Infill Selection's candidates. The model does not know how long the selection was:
 * a candidate often repeats the line before the selection, or runs on into the text after it.
 * Each filter is a pure function of the candidate and the text around the selection ('\n' line
 * endings), like the ghost-text filters in completion/postprocess.ts.
 */

export interface SpanContext {
  /** Text before the selection. */
  prefix: string;
  /** Text after the selection. */
  suffix: string;
}

export interface SpanFilter {
  readonly name: string;
  apply(text: string, ctx: SpanContext): string;
}

/** Overlaps shorter than this many non-blank characters are taken for chance. */
const MIN_OVERLAP = 4;

const nonBlank = (s: string): number => s.replace(/\s/g, '').length;

/**
 * The selection started inside a line and the candidate starts by writing that line's beginning
 * again (`if ` before the selection, `if x > 0:` as the candidate): drop the repeat.
 */
export const dropLinePrefixRepeat: SpanFilter = {
  name: 'dropLinePrefixRepeat',
  apply(text, ctx) {
    const head = ctx.prefix.slice(ctx.prefix.lastIndexOf('\n') + 1).trimStart();
    if (nonBlank(head) < MIN_OVERLAP - 1 || !text.startsWith(head) || text.length === head.length) return text;
    return text.slice(head.length);
  },
};

/**
 * The selection started at a line start and the candidate begins with a copy of the line just
 * before it, then goes on: drop the copy.
 */
export const dropPreviousLine: SpanFilter = {
  name: 'dropPreviousLine',
  apply(text, ctx) {
    if (ctx.prefix !== '' && !ctx.prefix.endsWith('\n')) return text;
    const lines = ctx.prefix.split('\n');
    const previous = lines[lines.length - 2];
    if (previous === undefined || nonBlank(previous) < MIN_OVERLAP || !text.startsWith(previous + '\n')) return text;
    const rest = text.slice(previous.length + 1);
    return rest.trim() === '' ? text : rest;
  },
};

/**
 * The selection ended inside a line: the candidate's first line should end where the rest of that
 * line begins. A candidate whose first line ends with that rest, or that goes on past it onto more
 * lines, is cut there.
 */
export const cutAtLineRest: SpanFilter = {
  name: 'cutAtLineRest',
  apply(text, ctx) {
    const nl = ctx.suffix.indexOf('\n');
    const rest = (nl < 0 ? ctx.suffix : ctx.suffix.slice(0, nl)).trimEnd();
    if (rest.trim() === '') return text;
    const first = text.indexOf('\n') < 0 ? text : text.slice(0, text.indexOf('\n'));
    const at = first.trimEnd().endsWith(rest) ? first.trimEnd().length - rest.length : -1;
    if (at > 0) return text.slice(0, at);
    return text;
  },
};

/**
 * The candidate runs on into the text after the selection: cut it where what it writes next is the
 * suffix itself, up to at least the suffix's next non-blank line (or to the candidate's end).
 */
export const cutAtSuffix: SpanFilter = {
  name: 'cutAtSuffix',
  apply(text, ctx) {
    const s = ctx.suffix;
    if (nonBlank(s) === 0) return text;
    // the end of the suffix's first non-blank line
    const firstChar = s.search(/\S/);
    const eol = s.indexOf('\n', firstChar);
    const lineEnd = eol < 0 ? s.length : eol;
    for (let k = 1; k < text.length; k++) {
      const rest = text.slice(k);
      let c = 0;
      const max = Math.min(rest.length, s.length);
      while (c < max && rest.charCodeAt(c) === s.charCodeAt(c)) c++;
      if ((c >= lineEnd || c === rest.length) && nonBlank(s.slice(0, c)) >= MIN_OVERLAP) return text.slice(0, k);
    }
    // the suffix starts with the line break that ends the selection's last line: no second one
    return s.startsWith('\n') ? text.replace(/\n+$/, '') : text;
  },
};

export const SPAN_FILTERS: readonly SpanFilter[] = [dropLinePrefixRepeat, dropPreviousLine, cutAtLineRest, cutAtSuffix];

/** The candidate through every filter. */
export function filterSpan(text: string, ctx: SpanContext, filters: readonly SpanFilter[] = SPAN_FILTERS): string {
  return filters.reduce((t, f) => f.apply(t, ctx), text);
}

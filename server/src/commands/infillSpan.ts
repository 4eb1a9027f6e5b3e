/**
 * Infill Selection: the engine regenerates the selected span (or fills at a cursor) from the text
 * before and after it, and answers several candidates ranked by the model's own confidence.
 *
 *   diffill/infillSpan → resolve the document and range → infillSpan() → engine.infill()
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import type { Engine } from '../../../engine/src/types';
import type { InfillSpanParams, InfillSpanResult } from '../protocol';
import { type CommandDeps, checkCurrent, resolve, toResponseError, withProgress } from './request';
import { checkSelection, splitAtSelection, toDocumentEol } from './selection';
import { filterSpan } from './spanFilters';

export interface SpanJob {
  /** The whole document. */
  text: string;
  /** The selection as offsets into `text`. */
  start: number;
  end: number;
  budgetMs: number;
  windowChars: number;
  signal?: AbortSignal;
}

export interface InfillSpanOutcome {
  /** Best first; each replaces text[start, end); the document's line endings. */
  candidates: Array<{ text: string; score: number; method: string; /** before the span filters */ raw: string }>;
  forwards: number;
  ms: number;
  truncated: boolean;
}

export interface InfillOptions {
  candidates?: number;
  /** The engine's candidates as they come, without the span filters (for measurements). */
  raw?: boolean;
  /** Cap the candidates' length from the selection's (default true; a cursor has no cap). */
  fitLength?: boolean;
}

/** Characters per token of the BPE on code, rounded down so the cap is never short. */
const CHARS_PER_TOKEN_LOW = 3;

/**
 * At most this many tokens for a selection of `chars` characters: the model does not know how long
 * the span was and tends to run on; twice the selection's length leaves room for a longer rewrite.
 */
export function lengthCap(chars: number): number | undefined {
  if (chars === 0) return undefined;
  return Math.max(16, Math.min(96, Math.ceil(chars / CHARS_PER_TOKEN_LOW) * 2 + 8));
}

/**
 * Candidates for text[start, end), filtered (spanFilters.ts), without duplicates, best first.
 * Throws a SelectionError for selections the model cannot take.
 */
export async function infillSpan(engine: Engine, job: SpanJob & InfillOptions): Promise<InfillSpanOutcome> {
  checkSelection(job.text, job.start, job.end, { requireText: false });
  const parts = splitAtSelection(job.text, job.start, job.end, job.windowChars);
  const res = await engine.infill({
    prefix: parts.prefix,
    suffix: parts.suffix,
    candidates: job.candidates,
    budgetMs: job.budgetMs,
    signal: job.signal,
    maxTokens: job.fitLength === false ? undefined : lengthCap(parts.selection.text.length),
  });
  const seen = new Set<string>();
  const candidates: InfillSpanOutcome['candidates'] = [];
  for (const c of res.candidates) {
    const text = job.raw ? c.text : filterSpan(c.text, parts);
    if (text.trim() === '' || seen.has(text)) continue;
    seen.add(text);
    candidates.push({ text: toDocumentEol(text, parts.eol), score: c.score, method: c.method, raw: toDocumentEol(c.text, parts.eol) });
  }
  return {
    candidates,
    forwards: res.forwards,
    ms: res.ms,
    truncated: res.truncated,
  };
}

export function infillSpanHandler(deps: CommandDeps) {
  return async (params: InfillSpanParams, token: CancellationToken): Promise<InfillSpanResult> => {
    try {
      const r = resolve(deps, params);
      const want = typeof params.candidates === 'number' && Number.isFinite(params.candidates) ? Math.round(params.candidates) : undefined;
      const out = await withProgress(deps, params, token, 'Diffill: infilling the selection', r.budgetMs, (signal) =>
        infillSpan(r.engine, { ...r, candidates: want, signal }),
      );
      checkCurrent(deps, r.doc);
      deps.log.info(
        `infillSpan: ${out.candidates.length} candidates for ${r.end - r.start} chars in ${out.ms.toFixed(0)} ms, ` +
          `${out.forwards} forwards${out.truncated ? ' (deadline hit)' : ''}`,
      );
      for (const c of out.candidates) deps.log.text(`infillSpan candidate ${c.method} ${c.score.toFixed(3)}`, c.text);
      return {
        candidates: out.candidates.map(({ text, score }) => ({ text, score })),
        version: r.doc.version,
        ms: out.ms,
        truncated: out.truncated,
      };
    } catch (err) {
      const e = toResponseError(err, 'infillSpan', deps.log);
      deps.log.info(`infillSpan not answered: ${e.message}`);
      throw e;
    }
  };
}

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
  candidates: Array<{ text: string; score: number; method: string }>;
  forwards: number;
  ms: number;
  truncated: boolean;
}

/** Candidates for text[start, end). Throws a SelectionError for selections the model cannot take. */
export async function infillSpan(engine: Engine, job: SpanJob & { candidates?: number }): Promise<InfillSpanOutcome> {
  checkSelection(job.text, job.start, job.end, { requireText: false });
  const parts = splitAtSelection(job.text, job.start, job.end, job.windowChars);
  const res = await engine.infill({
    prefix: parts.prefix,
    suffix: parts.suffix,
    candidates: job.candidates,
    budgetMs: job.budgetMs,
    signal: job.signal,
  });
  return {
    candidates: res.candidates.map((c) => ({ text: toDocumentEol(c.text, parts.eol), score: c.score, method: c.method })),
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

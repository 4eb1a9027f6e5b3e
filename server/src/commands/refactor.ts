/**
 * Refactor Selection: the engine scores every token of the selection with both sides visible,
 * re-masks the unlikely ones and denoises them again, for a few rounds. The answer is an edit
 * confined to the selection plus the per-token confidence of the original (the confidence view).
 * The server never edits the document: the client applies the edit when the user accepts it.
 *
 *   diffill/refactor → resolve the document and range → refactorSpan() → engine.refactor()
 */
import type { CancellationToken } from 'vscode-languageserver/node';
import type { Engine } from '../../../engine/src/types';
import type { RefactorParams, RefactorResult } from '../protocol';
import type { SpanJob } from './infillSpan';
import { type CommandDeps, checkCurrent, rangeOf, resolve, toResponseError, withProgress } from './request';
import {
  type OffsetEdit,
  checkSelection,
  confidenceSpans,
  minimalEdit,
  replacementChars,
  splitAtSelection,
  toDocumentEol,
} from './selection';

// Chosen with scripts/measure-commands.mjs (planted bugs fixed vs clean code changed).
/** Tokens the model gives less than this probability are re-masked. */
export const REMASK_BELOW = 0.001;
/** At most this share of a window is re-masked per round (at least one token). */
export const REMASK_SHARE = 0.25;
/** Rounds of score → re-mask → denoise. */
export const ROUNDS = 3;

export interface RefactorOutcome {
  /** The rewritten selection in the document's line endings (the original when unchanged). */
  newText: string;
  /** Document offsets; inside [start, end); empty when unchanged. */
  edits: OffsetEdit[];
  changed: boolean;
  /** The engine's rewrite held undecodable bytes and was dropped. */
  undecodable: boolean;
  /** Per token of the original selection, document offsets. */
  confidence: Array<{ start: number; end: number; p: number }>;
  rounds: number;
  forwards: number;
  ms: number;
  truncated: boolean;
}

/**
 * Rewrites text[start, end). With `scoreOnly` the engine only scores (no re-masking): the
 * confidence view. Throws a SelectionError for selections the model cannot take.
 */
export interface RefactorOptions {
  /** Only score: the confidence view. */
  scoreOnly?: boolean;
  /** Re-mask tokens below this probability (default REMASK_BELOW). */
  threshold?: number;
  /** Share of a window re-masked per round at most (default REMASK_SHARE). */
  maxFraction?: number;
  /** Rounds of score → re-mask → denoise (default ROUNDS). */
  rounds?: number;
}

export async function refactorSpan(engine: Engine, job: SpanJob & RefactorOptions): Promise<RefactorOutcome> {
  checkSelection(job.text, job.start, job.end, { requireText: true });
  const parts = splitAtSelection(job.text, job.start, job.end, job.windowChars);
  const sel = parts.selection;
  const res = await engine.refactor({
    prefix: parts.prefix,
    selection: sel.text,
    suffix: parts.suffix,
    // threshold 0: no token is below it, so the engine scores and stops
    ...(job.scoreOnly
      ? { threshold: 0, rounds: 1 }
      : { threshold: job.threshold ?? REMASK_BELOW, maxFraction: job.maxFraction ?? REMASK_SHARE, rounds: job.rounds ?? ROUNDS }),
    budgetMs: job.budgetMs,
    signal: job.signal,
  });
  const confidence = confidenceSpans(res.original, sel, job.start);
  // The edit is found on the normalised text and mapped back, so that the lines it does not touch
  // keep their own line endings byte for byte.
  let e = job.scoreOnly || !res.changed ? undefined : minimalEdit(sel.text, res.text);
  // a rewrite that writes undecodable bytes (a character split between the engine's windows) where
  // the original had none would corrupt the text: no rewrite then
  const undecodable = e !== undefined && replacementChars(e.newText) > replacementChars(sel.text.slice(e.start, e.end));
  if (undecodable) e = undefined;
  const edits: OffsetEdit[] = [];
  let newText = sel.original;
  if (e) {
    const s = sel.toOriginal(e.start);
    const t = sel.toOriginal(e.end);
    const replacement = toDocumentEol(e.newText, parts.eol);
    edits.push({ start: job.start + s, end: job.start + t, newText: replacement });
    newText = sel.original.slice(0, s) + replacement + sel.original.slice(t);
  }
  return {
    newText,
    edits,
    changed: edits.length > 0,
    undecodable,
    confidence,
    rounds: res.rounds,
    forwards: res.forwards,
    ms: res.ms,
    truncated: res.truncated,
  };
}

export function refactorHandler(deps: CommandDeps) {
  return async (params: RefactorParams, token: CancellationToken): Promise<RefactorResult> => {
    const what = params?.scoreOnly ? 'confidence' : 'refactor';
    try {
      const r = resolve(deps, params);
      const title = params.scoreOnly ? 'Diffill: scoring the selection' : 'Diffill: refactoring the selection';
      const out = await withProgress(deps, params, token, title, r.budgetMs, (signal) =>
        refactorSpan(r.engine, { ...r, scoreOnly: params.scoreOnly === true, signal }),
      );
      checkCurrent(deps, r.doc);
      const low = out.confidence.filter((c) => c.p < 0.1).length;
      deps.log.info(
        `${what}: ${r.end - r.start} chars, ${out.confidence.length} tokens (${low} below 0.1), ` +
          `${out.changed ? `${out.edits.length} edit` : 'unchanged'}, ${out.rounds} rounds, ${out.forwards} forwards ` +
          `in ${out.ms.toFixed(0)} ms${out.truncated ? ' (deadline hit)' : ''}`,
      );
      if (out.undecodable) deps.log.warn(`${what}: the engine's rewrite held undecodable bytes (a character split between windows); dropped`);
      if (out.changed) deps.log.text(`${what} newText`, out.newText);
      return {
        edits: out.edits.map((e) => ({ range: rangeOf(r.doc, e.start, e.end), newText: e.newText })),
        newText: out.newText,
        changed: out.changed,
        confidence: out.confidence.map((c) => ({ range: rangeOf(r.doc, c.start, c.end), p: c.p })),
        version: r.doc.version,
        ms: out.ms,
        truncated: out.truncated,
      };
    } catch (err) {
      const e = toResponseError(err, what, deps.log);
      deps.log.info(`${what} not answered: ${e.message}`);
      throw e;
    }
  };
}

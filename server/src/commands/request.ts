/**
 * What the selection requests (diffill/infillSpan, diffill/refactor) share on the LSP side:
 * finding the document and the range, the budget, cancellation as an AbortSignal, work-done
 * progress once a request runs longer than PROGRESS_AFTER_MS, and one way of turning failures into
 * ResponseErrors the client can tell apart (`data.reason`).
 */
import {
  type CancellationToken,
  type Connection,
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  type TextDocuments,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Engine } from '../../../engine/src/types';
import { CHARS_PER_TOKEN } from '../completion/context';
import { offsetOf } from '../documents';
import type { EngineState } from '../engineHost';
import { type Logger, describeError } from '../log';
import type { DiffillSettings, LspRange, SelectionErrorReason, SelectionParams } from '../protocol';
import { SelectionError } from './selection';

/** Requests that take longer than this show progress. */
export const PROGRESS_AFTER_MS = 300;

/**
 * The engine keeps to its budget between forward passes, but not everywhere (refactor scores every
 * window of a long selection first): past this limit the server stops it and says so.
 */
export function hardLimitMs(budgetMs: number): number {
  return budgetMs * 2 + 1000;
}

export interface CommandDeps {
  connection: Connection;
  documents: TextDocuments<TextDocument>;
  host: { current(): Engine | undefined; readonly state: EngineState };
  settings: () => DiffillSettings;
  log: Logger;
}

/** A request's document and range, resolved and checked against the server's copy. */
export interface Resolved {
  doc: TextDocument;
  text: string;
  start: number;
  end: number;
  engine: Engine;
  budgetMs: number;
  /** Prefix and suffix beyond this many characters never reach the engine. */
  windowChars: number;
}

export function resolve(deps: CommandDeps, params: SelectionParams | undefined): Resolved {
  const uri = params?.textDocument?.uri;
  const doc = typeof uri === 'string' ? deps.documents.get(uri) : undefined;
  if (!doc) {
    throw failure('no-document', 'the document is not open in Diffill (it works on Python, TypeScript and JavaScript files)');
  }
  const want = params?.textDocument?.version;
  if (typeof want === 'number' && want !== doc.version) {
    throw failure('outdated', `the document changed (version ${doc.version}, the request was for ${want})`);
  }
  const start = offsetOf(doc, params?.range?.start);
  const end = offsetOf(doc, params?.range?.end);
  if (start === undefined || end === undefined || start > end) throw failure('bad-range', 'the selection is not a range of the document');
  const engine = deps.host.current();
  if (!engine) {
    const s = deps.host.state;
    const why = s.phase === 'error' ? `the model did not load: ${s.message ?? 'unknown error'}` : 'the model is still loading';
    throw failure('no-model', why);
  }
  const settings = deps.settings();
  return {
    doc,
    text: doc.getText(),
    start,
    end,
    engine,
    budgetMs: settings.latencyBudgetMs * settings.commandTimeoutFactor,
    windowChars: settings.maxContextTokens * CHARS_PER_TOKEN * 2,
  };
}

/** A refusal the client can tell apart by `data.reason`. */
export function failure(reason: SelectionErrorReason, message: string): ResponseError<{ reason: SelectionErrorReason }> {
  const code =
    reason === 'outdated'
      ? LSPErrorCodes.ContentModified
      : reason === 'no-model' || reason === 'timeout'
        ? LSPErrorCodes.RequestFailed
        : ErrorCodes.InvalidParams;
  return new ResponseError(code, message, { reason });
}

/** Any failure of a selection request as the ResponseError to answer with. */
export function toResponseError(err: unknown, what: string, log: Logger): ResponseError<unknown> {
  if (err instanceof ResponseError) return err;
  if (err instanceof SelectionError) return failure(err.reason, err.message);
  if (err instanceof Error && err.name === 'AbortError') return new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
  log.error(`${what} failed: ${describeError(err)}`);
  return new ResponseError(LSPErrorCodes.RequestFailed, `${what} failed: ${describeError(err)}`);
}

/** The document range of offsets [start, end). */
export function rangeOf(doc: TextDocument, start: number, end: number): LspRange {
  return { start: doc.positionAt(start), end: doc.positionAt(end) };
}

/** Throws ContentModified when the document moved on while the engine worked. */
export function checkCurrent(deps: CommandDeps, doc: TextDocument): void {
  const now = deps.documents.get(doc.uri);
  if (now?.version !== doc.version) {
    throw failure('outdated', 'the document changed while the model worked: run the command again');
  }
}

/**
 * Runs `work` with an AbortSignal that follows the LSP cancellation (and a cancel from the progress
 * UI), and reports work-done progress if it is still running after PROGRESS_AFTER_MS: on the
 * client's token when it sent one, else on one the server creates (if the client supports that).
 */
export async function withProgress<T>(
  deps: CommandDeps,
  params: SelectionParams,
  token: CancellationToken,
  title: string,
  budgetMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  if (token.isCancellationRequested) abort();
  const sub = token.onCancellationRequested(abort);
  const t0 = performance.now();
  let finished = false;
  let reporter: WorkDoneProgressReporter | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const startProgress = async (): Promise<void> => {
    let r: WorkDoneProgressReporter;
    if (params.workDoneToken !== undefined) {
      r = deps.connection.window.attachWorkDoneProgress(params.workDoneToken);
    } else {
      const created = await deps.connection.window.createWorkDoneProgress();
      created.token.onCancellationRequested(abort);
      r = created;
    }
    if (finished) return; // the work ended while the client created the token
    reporter = r;
    r.begin(title, 0, undefined, true);
    ticker = setInterval(() => {
      const elapsed = performance.now() - t0;
      r.report(Math.min(99, Math.round((elapsed / budgetMs) * 100)), `${(elapsed / 1000).toFixed(1)} s`);
    }, 250);
  };
  const timer = setTimeout(() => {
    startProgress().catch((err) => deps.log.warn(`progress failed: ${describeError(err)}`));
  }, PROGRESS_AFTER_MS);
  let timedOut = false;
  const limit = hardLimitMs(budgetMs);
  const hard = setTimeout(() => {
    timedOut = true;
    abort();
  }, limit);
  try {
    const result = await work(ctl.signal);
    if (token.isCancellationRequested || (ctl.signal.aborted && !timedOut)) {
      throw new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
    }
    return result;
  } catch (err) {
    if (timedOut && !token.isCancellationRequested) {
      throw failure('timeout', `the model needed more than ${(limit / 1000).toFixed(1)} s for this selection: select less, or raise diffill.commandTimeoutFactor`);
    }
    throw err;
  } finally {
    finished = true;
    clearTimeout(timer);
    clearTimeout(hard);
    if (ticker) clearInterval(ticker);
    reporter?.done();
    sub.dispose();
  }
}

/**
 * The completion pipeline, one keystroke's journey:
 *   gather context → typed-ahead / cache → debounce → engine.fill (budget, cancellation)
 *   → version check → post-process → cache.
 * It knows nothing of LSP: the server and the CLI both drive it.
 */
import type { Engine, FillMode, FillResult } from '../../../engine/src/types';
import type { DiffillSettings } from '../protocol';
import { type Logger, silentLogger, describeError } from '../log';
import { LruCache, contextKey } from './cache';
import { type CompletionContext, extractContext, normalizeEol, chooseMode } from './context';
import { Serial, Supersede, delay } from './debounce';
import { type PostMode, postprocess } from './postprocess';
import { TypedAhead } from './typedAhead';

export const CACHE_ENTRIES = 256;

export interface DocumentRequest {
  uri: string;
  /** The whole document as it was when the request arrived. */
  text: string;
  /** Cursor offset into `text`. */
  offset: number;
  /** Document version `text` belongs to. */
  version: number;
  /** The document's version now (undefined once closed): a fill for an older one is dropped. */
  currentVersion: () => number | undefined;
  /** Aborts when the client cancels the request. */
  signal?: AbortSignal;
}

export type Source = 'typed-ahead' | 'cache' | 'model' | 'none';
export type NoneReason = 'cancelled' | 'outdated' | 'no-engine' | 'error' | 'empty';

export interface PipelineResult {
  /** The completion, in the document's line endings; '' when there is none. */
  text: string;
  source: Source;
  reason?: NoneReason;
  /** The engine's answer when the model ran. */
  fill?: FillResult;
  /** Time from request to answer, debounce included. */
  totalMs: number;
}

export interface PipelineDeps {
  engine(): Engine | undefined;
  settings(): Pick<DiffillSettings, 'latencyBudgetMs' | 'debounceMs' | 'maxContextTokens'> & Partial<Pick<DiffillSettings, 'multilineMinConfidence' | 'lineBeamWidth'>>;
  log?: Logger;
  /** Called around each model run (drives the 'thinking' status). */
  onFill?(phase: 'start' | 'end', result?: FillResult): void;
}

/** What `fillAndClean` needs: the model's context plus the cursor-line facts the filters use. */
export interface FillInput {
  prefix: string;
  suffix: string;
  linePrefix: string;
  lineSuffix: string;
  mode: PostMode;
  cacheKey?: string;
}

const ENGINE_MODE: Record<PostMode, FillMode> = { line: 'line', multiline: 'multiline', span: 'span' };

export class CompletionPipeline {
  private readonly cache = new LruCache<string>(CACHE_ENTRIES);
  private readonly typedAhead = new TypedAhead();
  private readonly supersede = new Supersede();
  private readonly serial = new Serial();
  private readonly log: Logger;

  constructor(private readonly deps: PipelineDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /** A completion at a cursor in a document, as ghost text. */
  async complete(req: DocumentRequest): Promise<PipelineResult> {
    const t0 = performance.now();
    const done = (text: string, source: Source, reason?: NoneReason, fill?: FillResult): PipelineResult => ({
      text,
      source,
      reason,
      fill,
      totalMs: performance.now() - t0,
    });

    const ahead = this.typedAhead.lookup(req.uri, req.text, req.offset);
    if (ahead !== undefined) {
      this.supersede.cancelAll(); // whatever still runs is for an older keystroke
      return done(ahead, 'typed-ahead');
    }

    const settings = this.deps.settings();
    const ctx = extractContext(req.text, req.offset, settings.maxContextTokens);
    const key = this.key(ctx.prefix, ctx.suffix, ctx.mode);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      const text = toEol(hit, ctx.eol);
      this.supersede.cancelAll();
      this.typedAhead.remember(req.uri, req.text, req.offset, text);
      return done(text, 'cache');
    }

    if (!this.deps.engine()) return done('', 'none', 'no-engine');

    const { signal, done: finished } = this.supersede.begin(req.signal);
    try {
      if (!(await delay(settings.debounceMs, signal))) return done('', 'none', 'cancelled');
      if (req.currentVersion() !== req.version) return done('', 'none', 'outdated');

      const out = await this.fillAndClean({ ...ctx, cacheKey: req.uri }, signal);
      if (out.kind !== 'ok') return done('', 'none', out.kind);
      // Cached even when the document moved on: the key is the text it was computed for. Not when the
      // deadline cut the fill short (a slow first pass can leave it empty): the same spot asked
      // again gets a new fill, with this one's context already in the KV cache.
      if (!out.fill.truncated) this.cache.set(key, out.text);
      if (req.currentVersion() !== req.version) return done('', 'none', 'outdated', out.fill);
      if (signal.aborted) return done('', 'none', 'cancelled', out.fill);
      const text = toEol(out.text, ctx.eol);
      this.typedAhead.remember(req.uri, req.text, req.offset, text);
      return done(text, text === '' ? 'none' : 'model', text === '' ? 'empty' : undefined, out.fill);
    } finally {
      finished();
    }
  }

  /**
   * Runs the engine on a context and post-processes its text ('\n' line endings). One fill runs
   * at a time; a fill whose signal aborts while it waits for its turn never starts.
   */
  async fillAndClean(
    input: FillInput,
    signal?: AbortSignal,
    budgetMs: number | undefined = this.deps.settings().latencyBudgetMs,
  ): Promise<{ kind: 'ok'; text: string; raw: string; fill: FillResult } | { kind: 'cancelled' | 'no-engine' | 'error'; fill?: undefined }> {
    return this.serial.run(async () => {
      if (signal?.aborted) return { kind: 'cancelled' as const };
      const engine = this.deps.engine();
      if (!engine) return { kind: 'no-engine' as const };
      this.log.text('prefix tail', input.prefix.slice(-200));
      this.log.text('suffix head', input.suffix.slice(0, 200));
      this.deps.onFill?.('start');
      let fill: FillResult | undefined;
      try {
        fill = await engine.fill({
          prefix: input.prefix,
          suffix: input.suffix,
          mode: ENGINE_MODE[input.mode],
          budgetMs,
          signal,
          cacheKey: input.cacheKey,
          minLineP: this.deps.settings().multilineMinConfidence,
          lineBeamWidth: this.deps.settings().lineBeamWidth,
        });
      } catch (err) {
        if (signal?.aborted) return { kind: 'cancelled' as const };
        this.log.error(`engine.fill failed: ${describeError(err)}`);
        // A run that failed half-way may leave this document's KV cache inconsistent: drop it.
        if (input.cacheKey !== undefined) {
          try {
            engine.evict(input.cacheKey);
          } catch {
            // the engine is broken beyond this request; the next one will tell
          }
        }
        return { kind: 'error' as const };
      } finally {
        this.deps.onFill?.('end', fill);
      }
      const text = postprocess(fill.text, input, undefined, (name, before, after) =>
        this.log.text(`filter ${name}`, `${before} → ${after}`),
      );
      this.log.info(
        `fill ${input.mode}: ${fill.ms.toFixed(0)} ms, ${fill.steps} steps, ${fill.forwards} forwards` +
          `${fill.truncated ? ', truncated' : ''}, ${fill.text.length} → ${text.length} chars`,
      );
      this.log.text('completion', text);
      return { kind: 'ok' as const, text, raw: fill.text, fill };
    });
  }

  /** Aborts the running request, if any. */
  cancelAll(): void {
    this.supersede.cancelAll();
  }

  /** Forget cached completions (the model or the context size changed). */
  reset(): void {
    this.cache.clear();
    this.typedAhead.clear();
  }

  /** A document closed. */
  forget(uri: string): void {
    this.typedAhead.clear(uri);
  }

  private key(prefix: string, suffix: string, mode: string): string {
    const info = this.deps.engine()?.info;
    return contextKey({ prefix, suffix, mode, salt: info ? `${info.modelDir}|${info.modelName}` : '' });
  }
}

/** The context of an explicit prefix/suffix pair (CLI infill, commands). */
export function contextFromParts(prefix: string, suffix: string, mode?: PostMode): FillInput {
  const p = normalizeEol(prefix);
  const s = normalizeEol(suffix);
  const linePrefix = p.slice(p.lastIndexOf('\n') + 1);
  const nl = s.indexOf('\n');
  const lineSuffix = nl < 0 ? s : s.slice(0, nl);
  return { prefix: p, suffix: s, linePrefix, lineSuffix, mode: mode ?? chooseMode(linePrefix, lineSuffix) };
}

function toEol(text: string, eol: CompletionContext['eol']): string {
  return eol === '\n' ? text : text.replace(/\n/g, eol);
}

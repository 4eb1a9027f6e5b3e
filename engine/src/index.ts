/**
 * Diffill's engine: fills the middle between a prefix and a suffix with the shipped block-diffusion
 * model. A plain library (no `vscode`), used by the language server, the CLI, benchmarks and tests.
 *
 *   fill(): context (context.ts) -> KV cache reuse (kvcache.ts) -> block refinement (sampler.ts)
 *           -> text with stop rules (stops.ts), all within a latency budget (budget.ts)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortError } from './abort';
import { Deadline } from './budget';
import { buildContext, farContext } from './context';
import { KvCache } from './kvcache';
import { sampleBlocks } from './sampler';
import { appendKv, type Kv, ModelSession } from './session';
import { sampleBeam } from './beam';
import { type DraftTree, sampleDraftVerify, type VerifyModel } from './draftVerify';
import { blankLine, chooseMode, lineBelow, cutMultiline, cutRepetition, unsureLineCut } from './stops';
import { CodeTokenizer, type SpecialIds } from './tokenizer';
import type {
  Engine,
  EngineInfo,
  EngineOptions,
  FillRequest,
  FillResult,
  InfillCandidate,
  InfillRequest,
  InfillResult,
  RefactorRequest,
  RefactorResult,
  KvCacheStats,
} from './types';
import { type SamplerModel, type SamplerOptions } from './sampler';
import { rewriteWindows } from './rewrite';
import { seeded } from './random';

export * from './types';
export { CodeTokenizer } from './tokenizer';
export { Deadline } from './budget';

export interface ModelConfig {
  name: string;
  format: number;
  params: number;
  block_size: number;
  max_context?: number;
  model: { vocab: number; d: number; layers: number; heads: number };
  special_tokens: SpecialIds;
}

const DEFAULT_BUDGET_MS = 1000;
/** Mask slots drafted per draft-and-verify pass: single lines, and multi-line fills. */
const LINE_MASKS = 6;
const BLOCK_MASKS = 8;
/** Longest draft verified in one pass (a pass costs more the more tokens it carries). */
const MAX_DRAFT = 12;
/**
 * Draft trees (format-3 models; engine/src/draftVerify.ts): drafts verified beside the main one in
 * a pass, their longest, and the most draft tokens in a pass. A pass costs ~0.19 ms more per token
 * (4.8 ms for 1, 10.9 for 33 on 2 cores), so the side drafts are short: their later tokens are
 * rarely accepted (session 5: `node scripts/eval-tasks.mjs --decodings parallel+branch-len=...`).
 * Session 11's bench sweep (`node dist/cli.js bench --json --branch-len L --tree-nodes T`) found
 * 5 and 32 the cheapest point at 3x fewer forwards than one per step: 4.50 per completion against
 * 4.68 for 3 and 20, 4.63 for 3 and 28–36, 4.80 for 4 and 20, the same exact match throughout.
 */
const BRANCHES = 7;
const BRANCH_LEN = 5;
const TREE_NODES = 32;
/** Decided tokens fed again with each draft-and-verify pass before they are appended to the cache. */
const HEAD_MAX = 8;
/**
 * Most new context tokens (typed since the last request) fed in front of the first draft-and-verify
 * pass instead of a pass of their own; more are run first, as one extension.
 */
const DEFER_MAX = 8;
/** Characters of the document beyond the model's window, each side, that drafts may copy from. */
const LOOKUP_FAR = 12000;
/** Characters of those not yet tokenized that one fill may tokenize (the rest waits for later fills). */
const FAR_ENCODE_CHARS = 3000;
/**
 * Multi-line mode: lines after the first are shown only while every token in them had at least
 * this probability (stops.ts unsureLineCut; FillRequest.minLineP).
 */
export const MIN_LINE_P = 0.2;
/**
 * Single-line fills: beam search of this width instead of draft-and-verify when above 1
 * (FillRequest.lineBeamWidth; README "Beam search for single lines" has the measured trade-off:
 * default 2 since session 22, when passes of few tokens got twice as fast).
 */
export const LINE_BEAM_WIDTH = 2;
/** Positions the model was trained on (context + block). */
const TRAINED_POSITIONS = 512;


export { AbortError } from './abort';

export function readModelConfig(modelDir: string): ModelConfig {
  const file = path.join(modelDir, 'config.json');
  let conf: ModelConfig;
  try {
    conf = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!conf?.model?.layers || !conf.special_tokens || !conf.block_size) {
    throw new Error(`${file} is not a Diffill model config (model, special_tokens, block_size expected)`);
  }
  if (conf.format !== 2 && conf.format !== 3) {
    throw new Error(`${file}: model format ${conf.format} is not supported (2 or 3 expected: re-export with training/export.py)`);
  }
  return conf;
}

export async function loadEngine(opts: EngineOptions): Promise<Engine> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => undefined);
  progress(0, 'reading model config');
  const conf = readModelConfig(opts.modelDir);
  const onnxPath = path.join(opts.modelDir, 'model.onnx');
  if (!fs.existsSync(onnxPath)) throw new Error(`model file missing: ${onnxPath}`);
  progress(0.1, 'loading tokenizer');
  const tok = CodeTokenizer.load(path.join(opts.modelDir, 'tokenizer.json'), conf.special_tokens);
  progress(0.3, 'loading ONNX model');
  const m = conf.model;
  const session = await ModelSession.create(
    onnxPath,
    { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab },
    { threads: opts.threads, executionProviders: opts.executionProviders, cpuMemArena: (opts as { cpuMemArena?: boolean }).cpuMemArena, extendChunk: opts.extendChunk },
  );
  const engine = new DiffillEngine(tok, session, conf, opts, 0);
  const warmup = opts.warmup === false || opts.warmup === 'off' ? 'off' : opts.warmup === 'wait' ? 'wait' : 'background';
  if (warmup !== 'off') {
    progress(0.8, 'warming up');
    const warm = engine.startWarmup();
    if (warmup === 'wait') await warm;
  }
  engine.setLoadMs(performance.now() - t0);
  progress(1, 'ready');
  return engine;
}

/**
 * Bytes of KV cache the engine keeps for documents, whatever the model's size: a full context's
 * keys and values take layers x 2 x d x tokens floats (11.8 MB for the 17m at 480 tokens, 14.7 MB
 * for the 21m, 17.7 MB for the 24m). The most recently used document's cache is float32 and the
 * others wait packed as fp16, at half the bytes (kvcache.ts), so the budget holds one full context
 * and as many half ones as fit in the rest: 4 documents of the 17m, 3 of the 21m, 2 of the 24m.
 * Until session 24 every entry was float32 under a 48 MiB budget (2 documents of the 24m in
 * 35.4 MB, now 26.5 MB). Session 19 measured the 21m with 4 float32 documents at RSS 295 / 317 MB
 * (goal 300) and with 3 at 267 / 284 / 307 MB (`node dist/cli.js bench --json`, README
 * "Measured numbers").
 * Since session 26 the packing waits until the engine is idle, so right after a move to another
 * document two caches are float32 (one full context more for a moment, 8.9 MB for the 24m).
 */
export const KV_CACHE_BUDGET_BYTES = 32 * 1024 * 1024;

/** Quiet time (ms) after the last request before idle documents' KV caches are packed as fp16. */
export const IDLE_PACK_MS = 300;

/** Documents whose KV cache is kept by default: one full float32 context plus as many fp16 ones as fit KV_CACHE_BUDGET_BYTES, 2 to 4. */
export function defaultCacheEntries(model: { layers: number; d: number }, contextTokens: number): number {
  const full = model.layers * 2 * model.d * contextTokens * 4;
  const packed = Math.max(0, Math.floor((KV_CACHE_BUDGET_BYTES - full) / (full / 2)));
  return Math.max(2, Math.min(4, 1 + packed));
}

/** A prefix of about `chars` characters of plain Python, the warm-up fill's context. */
export function warmupPrefix(chars: number): string {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < chars; i++) {
    const line = `    value_${i} = compute(value_${i - 1}, ${i})\n`;
    lines.push(line);
    n += line.length;
  }
  return `def warm_up():\n${lines.join('')}    return`;
}

export class DiffillEngine implements Engine {
  private readonly cache: KvCache;
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests queued or running; idle packing of KV caches runs only while this is 0. */
  private active = 0;
  private idleTimer?: ReturnType<typeof setTimeout>;
  private disposed = false;
  private warm: Promise<number | undefined> = Promise.resolve(undefined);
  private readonly warmAbort = new AbortController();
  private _info: EngineInfo;
  readonly maxContext: number;
  private readonly lineBlock: number;

  constructor(
    readonly tok: CodeTokenizer,
    readonly session: ModelSession,
    readonly conf: ModelConfig,
    opts: EngineOptions,
    loadMs: number,
  ) {
    const trained = (conf.max_context ?? TRAINED_POSITIONS) - conf.block_size;
    this.maxContext = Math.max(64, Math.min(opts.maxContextTokens ?? trained, trained));
    this.cache = new KvCache(opts.cacheEntries ?? defaultCacheEntries(conf.model, this.maxContext));
    this.lineBlock = opts.lineBlockSize ?? 16;
    this._info = {
      modelName: conf.name,
      modelDir: opts.modelDir,
      params: conf.params,
      blockSize: conf.block_size,
      loadMs,
      threads: session.threads,
      executionProvider: session.provider,
    };
  }

  get info(): EngineInfo {
    return this._info;
  }

  setLoadMs(ms: number): void {
    this._info = { ...this._info, loadMs: ms };
  }

  get forwards(): number {
    return this.session.forwards;
  }

  cacheStats(): KvCacheStats {
    return { entries: this.cache.size, packed: this.cache.packedCount, bytes: this.cache.bytes };
  }

  /**
   * Queues the warm-up fill (a full context, so that ONNX Runtime has planned and allocated for it)
   * ahead of whatever comes next; resolves with its time in ms. Called once, by loadEngine.
   */
  startWarmup(): Promise<number | undefined> {
    this.warm = this.serial(async () => {
      const t = performance.now();
      try {
        await this.fillNow({
          prefix: warmupPrefix(this.maxContext * 3),
          suffix: '\n',
          mode: 'line',
          budgetMs: 2000,
          cacheKey: '\0warmup',
          signal: this.warmAbort.signal,
        });
      } finally {
        this.cache.evict('\0warmup');
      }
      const ms = performance.now() - t;
      this._info = { ...this._info, warmupMs: ms };
      return ms;
    });
    this.warm.catch(() => undefined); // a failure is reported by whenWarm(), and met again by requests
    return this.warm;
  }

  whenWarm(): Promise<number | undefined> {
    return this.warm;
  }

  evict(cacheKey?: string): void {
    this.cache.evict(cacheKey);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.idleTimer);
    this.warmAbort.abort(); // a warm-up still running stops within one step
    this.cache.evict();
    await this.queue.catch(() => undefined);
    await this.session.dispose();
  }

  /**
   * Work runs one request at a time (one ONNX session); a queued request that was cancelled never
   * starts. Once the last one is done and no other came for IDLE_PACK_MS, idle documents' KV caches
   * are packed as fp16 (kvcache.ts), one array per turn of the event loop, so that a request
   * arriving meanwhile waits at most one array's packing.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    clearTimeout(this.idleTimer);
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    this.queue.then(() => {
      if (--this.active === 0 && !this.disposed) {
        this.idleTimer = setTimeout(() => this.packWhileIdle(), IDLE_PACK_MS);
        this.idleTimer.unref?.();
      }
    });
    return run;
  }

  private packWhileIdle(): void {
    if (this.active > 0 || this.disposed) return;
    // a ref'd immediate: an unref'd one waits until something else wakes the event loop
    if (this.cache.packStep()) setImmediate(() => this.packWhileIdle());
  }

  /** Packs idle documents' KV caches now, as idle packing would (for benchmarks and tests). */
  packIdleCaches(): void {
    this.cache.packAll();
  }

  fill(req: FillRequest): Promise<FillResult> {
    return this.serial(() => this.fillNow(req));
  }

  infill(req: InfillRequest): Promise<InfillResult> {
    return this.serial(() => this.infillNow(req));
  }

  refactor(req: RefactorRequest): Promise<RefactorResult> {
    return this.serial(() => rewriteWindows(this, req));
  }

  /**
   * The context for (prefix, suffix) with its KV cache, and a sampler model on top of it.
   * Internal, shared by fill, infill and refactor.
   */
  async open(prefix: string, suffix: string, key: string, deadline: Deadline, signal: AbortSignal | undefined, heal = true, defer = false, farChars = 0) {
    const B = this.conf.block_size;
    const ctx = buildContext(
      this.tok,
      prefix,
      suffix,
      { maxTokens: this.maxContext, maxSuffixTokens: Math.min(160, Math.floor(this.maxContext / 3)) },
      this.cache.startOffset(key),
      heal,
    );
    const session = this.session;
    // defer: a few new context tokens ride in front of the verifier's first pass (one pass fewer)
    // a cancelled request stops the extension between passes and keeps what it computed
    const prepared = await this.cache.prepare(key, ctx.stable, ctx.startOffset, session, defer && ctx.tail.length === 0 ? DEFER_MAX : 0, signal);
    if (signal?.aborted) throw new AbortError();
    const base: Kv = ctx.tail.length > 0 ? await session.extend(ctx.tail, prepared.kv, { signal }) : prepared.kv;
    const sp = this.tok.special;
    /** A fresh sampler model starting right after the context (several can share `base`). */
    const model = (enough?: (toks: readonly number[]) => boolean): SamplerModel => {
      if (prepared.pending.length > 0) throw new Error('internal: the block sampler needs the whole context in the cache (open without defer)');
      let kv = base;
      let last = sp.mid;
      let positions = kv.length + 1;
      return {
        step: (block) => session.step([last, ...block], kv),
        advance: async (block) => {
          kv = await session.extend([last, ...block.slice(0, -1)], kv);
          last = block[block.length - 1];
          positions += block.length;
        },
        outOfTime: (next) => {
          if (signal?.aborted) throw new AbortError();
          if (positions + B > TRAINED_POSITIONS + B * 3) return true;
          const step = session.predictStepMs();
          return deadline.cannotFit(next === 'advance' ? step + session.predictExtendMs(B + 1) : step);
        },
        enough,
      };
    };
    // the document around the window, for drafts copied from it when the window has no match
    // (built once per fill, on demand)
    let farToks: number[] | undefined;
    const far = (): readonly number[] => (farToks ??= farContext(this.tok, prefix, suffix, ctx, farChars, FAR_ENCODE_CHARS));
    /**
     * A fresh draft-and-verify model starting right after the context (draftVerify.ts). Decided
     * tokens not yet in the cache (`head`, ending with the last one) are fed again with each pass:
     * appending to the cache copies all of it, so it is done only once `head` grows past HEAD_MAX.
     */
    const verifier = (enough?: (toks: readonly number[]) => boolean): VerifyModel => {
      let kv = base;
      // deferred context tokens (prepared.pending) go first: causal, so the first pass computes
      // their exact keys/values, which then join the document's cache
      let ctxLeft = prepared.pending.length;
      let head = [...prepared.pending, sp.mid];
      let pending: { newK: Float32Array; newV: Float32Array; n: number; draft: readonly number[]; off: number } | undefined;
      const V = this.tok.vocabSize;
      /** After a pass over N tokens: the deferred context rows join the cache (and the document's). */
      const settle = (r: { newK: Float32Array; newV: Float32Array }, N: number, draft: readonly number[]) => {
        const off = ctxLeft;
        if (off > 0) {
          kv = appendKv(kv, r.newK, r.newV, N, session.dims, off);
          prepared.commit(kv);
          head = head.slice(off);
          ctxLeft = 0;
        }
        pending = { newK: r.newK, newV: r.newV, n: N, draft, off };
      };
      /** Keeps head + the given rows (after head) of the last pass; `next` becomes last. */
      const keep = (rows: readonly number[], next: number) => {
        if (!pending) throw new Error('accept() before pass()');
        const p = pending;
        const grown = [...head, ...rows.map((r) => p.draft[r])];
        if (grown.length >= HEAD_MAX) {
          const all = [...[...head.keys()].map((i) => p.off + i), ...rows.map((r) => p.off + head.length + r)];
          kv = appendKv(kv, p.newK, p.newV, p.n, session.dims, all);
          head = [next];
        } else head = [...grown, next];
        pending = undefined;
      };
      return {
        pass: async (draft, masks) => {
          const ids = [...head, ...draft];
          for (let j = 0; j < masks; j++) ids.push(sp.mask);
          const r = await session.verify(ids, head.length + draft.length, kv);
          // row 0 for the sampler: the prediction after the last decided token
          const rows = r.logits.subarray((head.length - 1) * V);
          settle(r, ids.length, draft);
          return rows;
        },
        accept: (m, next) => keep([...Array(m).keys()], next),
        ...(session.positions
          ? {
              passTree: async (tree: DraftTree, masks: number, maskAfter: number) => {
                const h = head.length;
                const n = tree.toks.length;
                const N = h + n + masks;
                const ids = [...head, ...tree.toks];
                for (let j = 0; j < masks; j++) ids.push(sp.mask);
                const mask = new Uint8Array(N * N);
                const pos = new Array<number>(N);
                const depth = new Array<number>(n);
                for (let i = 0; i < h; i++) {
                  mask.fill(1, i * N, i * N + i + 1);
                  pos[i] = i;
                }
                for (let i = 0; i < n; i++) {
                  const r = (h + i) * N;
                  mask.fill(1, r, r + h);
                  mask[r + h + i] = 1;
                  for (let a = tree.parent[i]; a >= 0; a = tree.parent[a]) mask[r + h + a] = 1;
                  depth[i] = tree.parent[i] < 0 ? 1 : depth[tree.parent[i]] + 1;
                  pos[h + i] = h - 1 + depth[i];
                }
                const d0 = maskAfter < 0 ? 0 : depth[maskAfter];
                for (let j = 0; j < masks; j++) {
                  const r = (h + n + j) * N;
                  mask.fill(1, r, r + h);
                  for (let a = maskAfter; a >= 0; a = tree.parent[a]) mask[r + h + a] = 1;
                  mask.fill(1, r + h + n, r + N);
                  pos[h + n + j] = h + d0 + j;
                }
                const r = await session.verifyTree(ids, mask, pos, kv);
                const rows = r.logits.subarray((h - 1) * V);
                settle(r, N, tree.toks);
                return rows;
              },
              acceptPath: (path: readonly number[], next: number) => keep(path, next),
            }
          : {}),
        outOfTime: (draft, masks) => {
          if (signal?.aborted) throw new AbortError();
          const n = head.length + draft + masks;
          if (kv.length + n > TRAINED_POSITIONS + B * 3) return true;
          return deadline.cannotFit(session.predictVerifyMs(n));
        },
        enough,
        context: [...ctx.stable, ...ctx.tail],
        far,
      };
    };
    return { ctx, prepared, model, verifier };
  }

  private async fillNow(req: FillRequest): Promise<FillResult> {
    const t0 = performance.now();
    const signal = req.signal;
    if (signal?.aborted) throw new AbortError();
    const deadline = new Deadline(t0, req.budgetMs ?? DEFAULT_BUDGET_MS);
    const forwards0 = this.session.forwards;
    this.session.resetMax();
    const mode = chooseMode(req.mode, req.prefix, req.suffix);
    const B = this.conf.block_size;
    const lineBeam = mode === 'line' ? Math.min(8, Math.floor(req.lineBeamWidth ?? LINE_BEAM_WIDTH)) : 1;
    const decoding = req.decoding ?? (lineBeam > 1 ? 'beam' : 'parallel');
    const verifying = decoding === 'parallel' || decoding === 'sequential' || decoding === 'beam';
    const { ctx, prepared, model, verifier } = await this.open(req.prefix, req.suffix, req.cacheKey ?? '\0default', deadline, signal, true, verifying, verifying && decoding === 'parallel' ? (req.lookupFar ?? LOOKUP_FAR) : 0);
    const openLine = req.prefix.slice(req.prefix.lastIndexOf('\n') + 1);
    const maxTokens = req.maxTokens ?? (mode === 'line' ? 48 : mode === 'multiline' ? 4 * B : 3 * B);
    const tok = this.tok;
    const enough = (toks: readonly number[]) => {
      const t = this.textOf(toks, ctx.heal);
      return cutRepetition(t).cut || (mode === 'multiline' && cutMultiline(t, openLine, req.suffix).cut);
    };
    let res =
      decoding === 'beam'
        ? await sampleBeam(tok, verifier(enough), {
            mode,
            maxTokens,
            heal: ctx.heal,
            width: req.beamWidth ?? (lineBeam > 1 ? lineBeam : 3),
            minTokens: mode === 'line' && !req.emptyOnBlankLine && blankLine(req.prefix, req.suffix) ? 1 : 0,
            reject: mode === 'line' && !req.repeatNextLine ? this.repeatsNextLine(openLine, req.suffix, ctx.heal) : undefined,
          })
        : verifying
        ? await sampleDraftVerify(tok, verifier(enough), {
            mode,
            maxTokens,
            heal: ctx.heal,
            draft: decoding === 'parallel',
            masks: req.masks ?? (mode === 'line' ? LINE_MASKS : BLOCK_MASKS),
            maxDraft: req.maxDraft ?? MAX_DRAFT,
            lookup: req.lookup ?? 1,
            branches: req.branches ?? BRANCHES,
            treeNodes: req.treeNodes ?? TREE_NODES,
            alternatives: req.alternatives,
            branchLen: req.branchLen ?? BRANCH_LEN,
            maskRoot: req.maskRoot ?? 'root',
          })
        : await sampleBlocks(
      tok,
      model(enough),
      {
        mode,
        // a line rarely needs more than 16 tokens: a smaller block makes every step cheaper
        blockSize: mode === 'line' ? Math.min(this.lineBlock, B) : B,
        threshold: req.threshold ?? 0.9,
        window: 8,
        sequential: decoding === 'diffusion-sequential',
        maxTokens,
        heal: ctx.heal,
      },
    );
    let text = res.healFailed ? '' : this.textOf(res.tokens, ctx.heal);
    if (decoding === 'parallel' && req.decoding === undefined && mode === 'line' && !res.healFailed && !res.truncated) {
      // width 1 (greedy draft-and-verify) keeps the beam's two rules for single lines: an empty line
      // on a blank line, or a copy of the line below, is decoded again by the beam of width 1 (greedy
      // token by token) with the rules, in the time left. Rare, so the draft's speed is kept.
      const onBlank = !req.emptyOnBlankLine && blankLine(req.prefix, req.suffix);
      const below = req.repeatNextLine ? undefined : lineBelow(req.suffix);
      const copy = below !== undefined && (openLine + text + below.rest).trimEnd() === below.next;
      if ((onBlank && cutRepetition(text).text.trim() === '') || copy) {
        const steps = res.steps;
        res = await sampleBeam(tok, verifier(enough), {
          mode,
          maxTokens,
          heal: ctx.heal,
          width: 1,
          minTokens: onBlank ? 1 : 0,
          reject: below && this.repeatsNextLine(openLine, req.suffix, ctx.heal),
        });
        res.steps += steps;
        text = res.healFailed ? '' : this.textOf(res.tokens, ctx.heal);
      }
    }
    if (mode === 'multiline' && text.includes('\n')) text = this.cutUnsure(text, res.tokens, res.probs, ctx.heal, req.minLineP ?? MIN_LINE_P);
    if (mode === 'multiline') text = cutMultiline(text, openLine, req.suffix).text;
    text = cutRepetition(text).text;
    const tokens = res.tokens.map((t, i) => ({ text: tok.decode([t]), p: res.probs[i] }));
    return {
      text,
      tokens,
      forwards: this.session.forwards - forwards0,
      steps: res.steps,
      ms: performance.now() - t0,
      truncated: res.truncated,
      cachedTokens: prepared.cachedTokens,
      newTokens: prepared.newTokens + ctx.tail.length,
      mode,
    };
  }

  /**
   * Line mode: a completion that makes the cursor's line a copy of the next non-blank line of the
   * suffix (indentation included) is a known failure of fill-in-the-middle models, which copy the
   * line below; on held-out code it is almost never the right line.
   */
  private repeatsNextLine(openLine: string, suffix: string, heal: Uint8Array): ((toks: readonly number[]) => boolean) | undefined {
    const below = lineBelow(suffix);
    if (!below) return undefined;
    return (toks) => (openLine + this.textOf(toks, heal) + below.rest).trimEnd() === below.next;
  }

  private async infillNow(req: InfillRequest): Promise<InfillResult> {
    const t0 = performance.now();
    if (req.signal?.aborted) throw new AbortError();
    const deadline = new Deadline(t0, req.budgetMs ?? DEFAULT_BUDGET_MS * 3);
    const forwards0 = this.session.forwards;
    const B = this.conf.block_size;
    const { ctx, model } = await this.open(req.prefix, req.suffix, req.cacheKey ?? '\0infill', deadline, req.signal);
    const want = Math.max(1, Math.min(req.candidates ?? 4, 8));
    const base: SamplerOptions = {
      mode: 'span',
      blockSize: B,
      threshold: 0.9,
      window: 8,
      sequential: false,
      maxTokens: req.maxTokens ?? 3 * B,
      heal: ctx.heal,
    };
    // the greedy decodings first, then samples at rising temperature (deterministic seeds)
    const plans: Array<[string, Partial<SamplerOptions>]> = [
      ['parallel@0.9', {}],
      ['sequential', { sequential: true }],
      ['parallel@0.6', { threshold: 0.6 }],
    ];
    for (let i = 0; plans.length < 3 + 2 * want; i++) {
      const seed = i + 1;
      plans.push([`sample@0.8#${seed}`, { temperature: 0.8, random: seeded(seed) }]);
    }
    const seen = new Map<string, InfillCandidate>();
    let truncated = false;
    for (const [method, o] of plans) {
      if (seen.size >= want || deadline.cannotFit(this.session.predictStepMs() * 2)) {
        truncated = seen.size < want;
        break;
      }
      const r = await sampleBlocks(this.tok, model(), { ...base, ...o });
      if (r.healFailed || r.truncated) continue;
      const text = this.textOf(r.tokens, ctx.heal);
      if (text.trim() === '' || seen.has(text)) continue;
      const score = r.probs.reduce((a, p) => a + Math.log(Math.max(p, 1e-9)), 0) / Math.max(1, r.probs.length);
      seen.set(text, {
        text,
        score,
        method,
        tokens: r.tokens.map((t, i) => ({ text: this.tok.decode([t]), p: r.probs[i] })),
      });
    }
    const candidates = [...seen.values()].sort((a, b) => b.score - a.score);
    return { candidates, forwards: this.session.forwards - forwards0, ms: performance.now() - t0, truncated };
  }

  /** Text of generated tokens with the healed bytes (already typed) taken off the front. */
  /** The text cut before its first unsure line after the first (stops.ts unsureLineCut). */
  private cutUnsure(text: string, tokens: readonly number[], probs: readonly number[], heal: Uint8Array, minP: number): string {
    const all = this.tok.bytesOf(tokens);
    const skip = Math.min(heal.length, all.length);
    const spans: Array<{ start: number; end: number; p: number }> = [];
    let at = -skip;
    tokens.forEach((t, i) => {
      const n = this.tok.bytesOf([t]).length;
      spans.push({ start: at, end: at + n, p: probs[i] ?? 1 });
      at += n;
    });
    const cut = unsureLineCut(all.subarray(skip), spans, minP);
    if (cut === undefined) return text;
    return this.tok.decodeBytes(all.subarray(skip, skip + cut)).replace(/\s+$/, '');
  }

  textOf(tokens: readonly number[], heal: Uint8Array): string {
    const bytes = this.tok.bytesOf(tokens);
    return this.tok.decodeBytes(bytes.subarray(Math.min(heal.length, bytes.length)));
  }
}

/**
 * Diffill's engine: fills the middle between a prefix and a suffix with the shipped block-diffusion
 * model. A plain library (no `vscode`), used by the language server, the CLI, benchmarks and tests.
 *
 *   fill(): context (context.ts) -> KV cache reuse (kvcache.ts) -> block refinement (sampler.ts)
 *           -> text with stop rules (stops.ts), all within a latency budget (budget.ts)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Deadline } from './budget';
import { buildContext } from './context';
import { KvCache } from './kvcache';
import { sampleBlocks } from './sampler';
import { type Kv, ModelSession } from './session';
import { chooseMode, cutMultiline } from './stops';
import { CodeTokenizer, type SpecialIds } from './tokenizer';
import type { Engine, EngineInfo, EngineOptions, FillRequest, FillResult } from './types';

export * from './types';
export { CodeTokenizer } from './tokenizer';

export interface ModelConfig {
  name: string;
  params: number;
  block_size: number;
  max_context?: number;
  model: { vocab: number; d: number; layers: number; heads: number };
  special_tokens: SpecialIds;
}

const DEFAULT_BUDGET_MS = 1000;
/** Positions the model was trained on (context + block). */
const TRAINED_POSITIONS = 512;

export class AbortError extends Error {
  constructor() {
    super('fill cancelled');
    this.name = 'AbortError';
  }
}

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
    { threads: opts.threads, executionProviders: opts.executionProviders },
  );
  const engine = new DiffillEngine(tok, session, conf, opts, 0);
  if (opts.warmup !== false) {
    progress(0.8, 'warming up');
    await engine.fill({ prefix: 'def add(a, b):\n    return', suffix: '\n', mode: 'line', budgetMs: 2000, cacheKey: '\0warmup' });
    engine.evict('\0warmup');
  }
  engine.setLoadMs(performance.now() - t0);
  progress(1, 'ready');
  return engine;
}

export class DiffillEngine implements Engine {
  private readonly cache: KvCache;
  private queue: Promise<unknown> = Promise.resolve();
  private _info: EngineInfo;
  private readonly maxContext: number;

  constructor(
    readonly tok: CodeTokenizer,
    readonly session: ModelSession,
    readonly conf: ModelConfig,
    opts: EngineOptions,
    loadMs: number,
  ) {
    this.cache = new KvCache(opts.cacheEntries ?? 4);
    const trained = (conf.max_context ?? TRAINED_POSITIONS) - conf.block_size;
    this.maxContext = Math.max(64, Math.min(opts.maxContextTokens ?? trained, trained));
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

  evict(cacheKey?: string): void {
    this.cache.evict(cacheKey);
  }

  async dispose(): Promise<void> {
    this.cache.evict();
    await this.queue.catch(() => undefined);
    await this.session.dispose();
  }

  /** Fills run one at a time (one ONNX session); a queued fill that was cancelled never starts. */
  fill(req: FillRequest): Promise<FillResult> {
    const run = this.queue.then(() => this.fillNow(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async fillNow(req: FillRequest): Promise<FillResult> {
    const t0 = performance.now();
    const signal = req.signal;
    if (signal?.aborted) throw new AbortError();
    const deadline = new Deadline(t0, req.budgetMs ?? DEFAULT_BUDGET_MS);
    const forwards0 = this.session.forwards;
    const mode = chooseMode(req.mode, req.prefix, req.suffix);
    const B = this.conf.block_size;
    const key = req.cacheKey ?? '\0default';
    const ctx = buildContext(
      this.tok,
      req.prefix,
      req.suffix,
      { maxTokens: this.maxContext, maxSuffixTokens: Math.min(160, Math.floor(this.maxContext / 3)) },
      this.cache.startOffset(key),
    );
    const session = this.session;
    const prepared = await this.cache.prepare(key, ctx.stable, ctx.startOffset, session);
    if (signal?.aborted) throw new AbortError();
    let kv: Kv = ctx.tail.length > 0 ? await session.extend(ctx.tail, prepared.kv) : prepared.kv;
    let last = this.tok.special.mid;
    const openLine = req.prefix.slice(req.prefix.lastIndexOf('\n') + 1);
    const maxTokens = req.maxTokens ?? (mode === 'line' ? B : mode === 'multiline' ? 4 * B : 3 * B);
    const tok = this.tok;
    let positions = kv.length + 1;
    const res = await sampleBlocks(tok, {
      step: (block) => session.step([last, ...block], kv),
      advance: async (block) => {
        kv = await session.extend([last, ...block.slice(0, -1)], kv);
        last = block[block.length - 1];
        positions += block.length;
      },
      outOfTime: () => {
        if (signal?.aborted) throw new AbortError();
        // stay inside the positions the model was trained on
        if (positions + B > TRAINED_POSITIONS + B * 3) return true;
        return deadline.cannotFit(session.predictStepMs());
      },
      enough: (toks) => mode === 'multiline' && cutMultiline(this.textOf(toks, ctx.heal), openLine, req.suffix).cut,
    }, {
      mode,
      blockSize: B,
      threshold: req.threshold ?? 0.9,
      window: 8,
      sequential: req.decoding === 'sequential',
      maxTokens,
      heal: ctx.heal,
    });
    let text = res.healFailed ? '' : this.textOf(res.tokens, ctx.heal);
    if (mode === 'multiline') text = cutMultiline(text, openLine, req.suffix).text;
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

  /** Text of generated tokens with the healed bytes (already typed) taken off the front. */
  private textOf(tokens: readonly number[], heal: Uint8Array): string {
    const bytes = this.tok.bytesOf(tokens);
    return this.tok.decodeBytes(bytes.subarray(Math.min(heal.length, bytes.length)));
  }
}

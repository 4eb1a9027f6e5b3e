/**
 * The model behind ONNX Runtime: one graph, called two ways (see engine/model-format.md).
 *   extend(ids, past)        causal extension of the context; returns the new KV cache
 *   step(tokens, past)       one refinement step over [last context token, block...]; logits only
 * Forward times are kept per kind so the budget planner can predict the next one.
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

export interface ModelDims {
  layers: number;
  heads: number;
  headDim: number;
  vocab: number;
}

/** A KV cache tensor [L, 2, 1, H, P, Dh] with its length P. */
export interface Kv {
  tensor: ort.Tensor;
  length: number;
}

export interface SessionOptions {
  threads?: number;
  executionProviders?: string[];
}

export class ModelSession {
  readonly threads: number;
  readonly provider: string;
  /** Exponential moving averages of forward times, ms: extension per token, step per call. */
  private stepMs = 0;
  private extendMsPerToken = 0;
  private extendFixedMs = 0;
  forwards = 0;
  /** Longest forward pass since the last resetMax(), ms (tests check budgets against it). */
  maxForwardMs = 0;

  resetMax(): void {
    this.maxForwardMs = 0;
  }

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dims: ModelDims,
    threads: number,
    provider: string,
  ) {
    this.threads = threads;
    this.provider = provider;
  }

  static async create(modelPath: string, dims: ModelDims, opts: SessionOptions = {}): Promise<ModelSession> {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    const threads = Math.max(1, Math.min(opts.threads ?? cores, 8));
    const wanted = opts.executionProviders ?? ['cpu'];
    let lastErr: unknown;
    // Try the requested providers in order, falling back to the CPU one that every build has.
    for (const ep of [...wanted.filter((p) => p !== 'cpu'), 'cpu']) {
      try {
        const session = await ort.InferenceSession.create(modelPath, {
          executionProviders: [ep],
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          enableCpuMemArena: true,
        });
        return new ModelSession(session, dims, threads, ep);
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  emptyKv(): Kv {
    const { layers, heads, headDim } = this.dims;
    return { tensor: new ort.Tensor('float32', new Float32Array(0), [layers, 2, 1, heads, 0, headDim]), length: 0 };
  }

  /** Appends `ids` to the context (causal among themselves). */
  async extend(ids: readonly number[], past: Kv): Promise<Kv> {
    const n = ids.length;
    if (n === 0) return past;
    const mask = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) mask[i * n + j] = 1;
    const t0 = performance.now();
    const out = await this.session.run(
      { input_ids: idsTensor(ids), past_kv: past.tensor, new_mask: new ort.Tensor('bool', mask, [n, n]) },
      ['present_kv'],
    );
    const ms = performance.now() - t0;
    this.forwards++;
    this.maxForwardMs = Math.max(this.maxForwardMs, ms);
    // per-token cost and fixed cost, learned from calls of different sizes
    const per = n > 1 ? ms / n : this.extendMsPerToken || ms;
    this.extendMsPerToken = ema(this.extendMsPerToken, Math.min(per, ms));
    this.extendFixedMs = ema(this.extendFixedMs, Math.max(0, ms - this.extendMsPerToken * n));
    return { tensor: out.present_kv, length: past.length + n };
  }

  /**
   * One refinement step: `tokens` = [last context token, block slots...]. The first token sees only
   * itself (and the cache), block slots see everything. Returns logits [tokens.length, V]; row i
   * predicts block slot i.
   */
  async step(tokens: readonly number[], past: Kv): Promise<Float32Array> {
    const n = tokens.length;
    const mask = new Uint8Array(n * n).fill(1);
    for (let j = 1; j < n; j++) mask[j] = 0;
    const t0 = performance.now();
    const out = await this.session.run(
      { input_ids: idsTensor(tokens), past_kv: past.tensor, new_mask: new ort.Tensor('bool', mask, [n, n]) },
      ['logits'],
    );
    const ms = performance.now() - t0;
    this.stepMs = ema(this.stepMs, ms);
    this.forwards++;
    this.maxForwardMs = Math.max(this.maxForwardMs, ms);
    return out.logits.data as Float32Array;
  }

  /** Predicted duration of the next refinement step, ms (0 before the first). */
  predictStepMs(): number {
    return this.stepMs;
  }

  predictExtendMs(n: number): number {
    return this.extendFixedMs + this.extendMsPerToken * n;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function idsTensor(ids: readonly number[]): ort.Tensor {
  const a = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) a[i] = BigInt(ids[i]);
  return new ort.Tensor('int64', a, [1, ids.length]);
}

function ema(prev: number, x: number): number {
  return prev === 0 ? x : 0.7 * prev + 0.3 * x;
}

/** Copies the first `len` positions of a KV cache (positions are axis 4 of [L,2,1,H,P,Dh]). */
export function truncateKv(kv: Kv, len: number, dims: ModelDims): Kv {
  if (len >= kv.length) return kv;
  const { layers, heads, headDim } = dims;
  const src = kv.tensor.data as Float32Array;
  const P = kv.length;
  const out = new Float32Array(layers * 2 * heads * len * headDim);
  const rows = layers * 2 * heads;
  for (let r = 0; r < rows; r++) {
    out.set(src.subarray(r * P * headDim, r * P * headDim + len * headDim), r * len * headDim);
  }
  return { tensor: new ort.Tensor('float32', out, [layers, 2, 1, heads, len, headDim]), length: len };
}

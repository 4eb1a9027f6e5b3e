/**
 * The model behind ONNX Runtime: one graph, called two ways (see engine/model-format.md).
 *   extend(ids, past)        causal extension of the context; returns the new KV cache
 *   step(tokens, past)       one refinement step over [last context token, block...]; logits only
 * Forward times are kept per kind so the budget planner can predict the next one.
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { AbortError } from './abort';

export interface ModelDims {
  layers: number;
  heads: number;
  headDim: number;
  vocab: number;
}

/**
 * The KV cache of a context of `length` tokens, one pair of buffers per layer:
 * keys transposed [H, Dh, P] (the score product reads them without a copy), values [H, P, Dh].
 */
export interface Kv {
  k: Float32Array[];
  v: Float32Array[];
  length: number;
}

export interface SessionOptions {
  threads?: number;
  executionProviders?: string[];
  /** ONNX Runtime's CPU memory arena (default off: it keeps the peak of every shape ever run). */
  cpuMemArena?: boolean;
  /**
   * Longest context extension run as one pass (default EXTEND_CHUNK); a longer one runs as several
   * passes, each appending to the cache the one before left. 0: one pass, however long.
   */
  extendChunk?: number;
}

/**
 * Context tokens per extension pass. A pass over n new tokens allocates its logits (n x vocab
 * floats: 13.6 MB at n = 414) and per-layer attention scores in one go; with the server's 4 MiB
 * mmap threshold, the 2-4 MiB ones land in the heap and stay resident after a long first fill
 * (the 21m's bench: RSS 323-339 MB in one pass, 305 in passes of 160, 295 of 128, 287 of 64).
 * Passes of at most 128 tokens keep those buffers smaller; passes of 64 cost the 21m 27 % more
 * time per completion. Measured in session 19 (`node dist/cli.js bench --json --extend-chunk N`,
 * README "Measured numbers").
 */
export const EXTEND_CHUNK = 128;

export interface ExtendOptions {
  /**
   * Checked between passes: once it fired, the extension stops with an AbortError (a pass that
   * runs is never cut; the deadline does not stop an extension, since the cache must hold the
   * whole context).
   */
  signal?: AbortSignal;
  /** Called after every pass with the cache so far (past + the tokens done): a caller keeps it. */
  onPass?: (grown: Kv) => void;
}

export class ModelSession {
  readonly threads: number;
  readonly provider: string;
  /** Exponential moving averages of forward times, ms: extension per token, step per call. */
  private stepMs = 0;
  private verifyMs = 0;
  private verifyDev = 0;
  private extendMsPerToken = 0;
  private extendFixedMs = 0;
  forwards = 0;
  /** Longest forward pass (a whole context extension counting as one) since the last resetMax(), ms (tests check budgets against it). */
  maxForwardMs = 0;

  resetMax(): void {
    this.maxForwardMs = 0;
  }

  /** The graph takes `pos_ids` (format 3): a pass may carry a tree of drafts (verifyTree). */
  readonly positions: boolean;
  /**
   * The graph takes `logit_rows` (training/logit_rows.py): the head runs on the rows listed only,
   * so a context extension, which needs keys and values alone, skips it. Graphs without it compute
   * logits for every row of every pass.
   */
  readonly logitRows: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dims: ModelDims,
    threads: number,
    provider: string,
    readonly extendChunk = EXTEND_CHUNK,
  ) {
    this.threads = threads;
    this.provider = provider;
    this.positions = session.inputNames.includes('pos_ids');
    this.logitRows = session.inputNames.includes('logit_rows');
  }

  static async create(modelPath: string, dims: ModelDims, opts: SessionOptions = {}): Promise<ModelSession> {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    const threads = Math.max(1, Math.min(opts.threads ?? cores, 8));
    const wanted = opts.executionProviders ?? ['cpu'];
    let lastErr: unknown;
    // Try the requested providers in order, falling back to the CPU one that every build has.
    for (const ep of [...wanted.filter((p) => p !== 'cpu'), 'cpu']) {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [ep],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        enableCpuMemArena: opts.cpuMemArena ?? false,
        enableMemPattern: false,
      };
      try {
        return new ModelSession(await ort.InferenceSession.create(modelPath, options), dims, threads, ep, opts.extendChunk ?? EXTEND_CHUNK);
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  emptyKv(): Kv {
    const { layers } = this.dims;
    return { k: Array.from({ length: layers }, () => new Float32Array(0)), v: Array.from({ length: layers }, () => new Float32Array(0)), length: 0 };
  }

  private feeds(ids: readonly number[], mask: Uint8Array, past: Kv, pos: readonly number[] | undefined, logits: boolean): Record<string, ort.Tensor> {
    const n = ids.length;
    const { layers, heads, headDim } = this.dims;
    const P = past.length;
    const f: Record<string, ort.Tensor> = { input_ids: idsTensor(ids), new_mask: new ort.Tensor('bool', mask, [n, n]) };
    if (this.positions) {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(pos ? pos[i] : i);
      f.pos_ids = new ort.Tensor('int64', a, [n]);
    }
    if (this.logitRows) {
      const r = new BigInt64Array(logits ? n : 0);
      for (let i = 0; i < r.length; i++) r[i] = BigInt(i);
      f.logit_rows = new ort.Tensor('int64', r, [r.length]);
    }
    for (let l = 0; l < layers; l++) {
      f[`past_k_${l}`] = new ort.Tensor('float32', past.k[l], [1, heads, headDim, P]);
      f[`past_v_${l}`] = new ort.Tensor('float32', past.v[l], [1, heads, P, headDim]);
    }
    return f;
  }

  /**
   * One forward pass over `ids` after the cache: the first `causal` tokens attend causally (to the
   * cache and the tokens before them), the rest to everything. Counts the pass and its duration.
   */
  private async run(ids: readonly number[], causal: number, past: Kv, outputs: string[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    const n = ids.length;
    const mask = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) {
      if (i < causal) mask.fill(1, i * n, i * n + i + 1);
      else mask.fill(1, i * n, (i + 1) * n);
    }
    return this.runMasked(ids, mask, undefined, past, outputs);
  }

  /** One forward pass with an explicit attention mask [n, n] over the new tokens and their positions (offsets after the cache). */
  private async runMasked(ids: readonly number[], mask: Uint8Array, pos: readonly number[] | undefined, past: Kv, outputs: string[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    const t0 = performance.now();
    // ONNX Runtime runs every node whatever is fetched: only `logit_rows` spares the head
    const out = await this.session.run(this.feeds(ids, mask, past, pos, outputs.includes('logits')), outputs);
    this.forwards++;
    this.maxForwardMs = Math.max(this.maxForwardMs, performance.now() - t0);
    return out;
  }

  /**
   * Appends `ids` to the context (causal among themselves), in passes of at most `extendChunk`
   * tokens. With `signal`, a cancelled request stops between passes (AbortError); `onPass` sees
   * the cache after each pass, so the work done so far need not be done again.
   */
  async extend(ids: readonly number[], past: Kv, opts: ExtendOptions = {}): Promise<Kv> {
    const n = ids.length;
    if (n === 0) return past;
    const t0 = performance.now();
    const c = this.extendChunk > 0 ? this.extendChunk : n;
    let grown = past;
    for (let i = 0; i < n; i += c) {
      if (opts.signal?.aborted) throw new AbortError();
      const part = ids.slice(i, i + c);
      const out = await this.run(part, part.length, grown, ['new_k', 'new_v']);
      grown = appendKv(grown, out.new_k.data as Float32Array, out.new_v.data as Float32Array, part.length, this.dims);
      opts.onPass?.(grown);
    }
    const ms = performance.now() - t0;
    // a chunked extension is still one unit that no deadline cuts (the cache must hold the whole
    // context): the budget's promise, "late by at most one forward", counts it as one
    this.maxForwardMs = Math.max(this.maxForwardMs, ms);
    // per-token cost and fixed cost, learned from calls of different sizes
    const per = n > 1 ? ms / n : this.extendMsPerToken || ms;
    this.extendMsPerToken = ema(this.extendMsPerToken, Math.min(per, ms));
    this.extendFixedMs = ema(this.extendFixedMs, Math.max(0, ms - this.extendMsPerToken * n));
    return grown;
  }

  /**
   * One refinement step: `tokens` = [last context token, block slots...]. The first token sees only
   * itself (and the cache), block slots see everything. Returns logits [tokens.length, V]; row i
   * predicts block slot i.
   */
  async step(tokens: readonly number[], past: Kv): Promise<Float32Array> {
    const t0 = performance.now();
    const out = await this.run(tokens, 1, past, ['logits']);
    this.stepMs = ema(this.stepMs, performance.now() - t0);
    return out.logits.data as Float32Array;
  }

  /**
   * One draft-and-verify pass (engine/src/draftVerify.ts): `tokens` = [last context token,
   * draft_0 .. draft_{k-1}, <mask> x M]. The first 1 + k tokens are causal (they extend the context:
   * their keys/values are exact cache entries); the M mask slots see the cache, the causal tokens
   * and each other (a diffusion block after the draft). Returns the logits [1 + k + M, V] and the new
   * keys/values of all 1 + k + M positions; `appendKv(past, newK, newV, n, keep)` keeps the first ones.
   */
  async verify(tokens: readonly number[], causal: number, past: Kv): Promise<{ logits: Float32Array; newK: Float32Array; newV: Float32Array }> {
    return this.timedVerify(tokens.length, () => this.run(tokens, causal, past, ['logits', 'new_k', 'new_v']));
  }

  /**
   * A draft-and-verify pass whose drafts form a tree (format 3 only): new token i attends to the
   * cache and to the new tokens j with `mask[i * n + j]`, at position `pos[i]` after the cache. The
   * caller builds the mask (each node sees its ancestors and itself; mask slots see their path and
   * each other). Same outputs as verify().
   */
  async verifyTree(tokens: readonly number[], mask: Uint8Array, pos: readonly number[], past: Kv): Promise<{ logits: Float32Array; newK: Float32Array; newV: Float32Array }> {
    if (!this.positions) throw new Error('verifyTree needs a model with pos_ids (format 3)');
    return this.timedVerify(tokens.length, () => this.runMasked(tokens, mask, pos, past, ['logits', 'new_k', 'new_v']));
  }

  /** Runs a verify pass over n tokens and learns its cost per unit (predictVerifyMs). */
  private async timedVerify(n: number, go: () => Promise<ort.InferenceSession.OnnxValueMapType>): Promise<{ logits: Float32Array; newK: Float32Array; newV: Float32Array }> {
    const t0 = performance.now();
    const out = await go();
    const unit = (performance.now() - t0) / verifyCost(n);
    this.verifyDev = this.verifyMs === 0 ? unit / 4 : ema(this.verifyDev, Math.abs(unit - this.verifyMs));
    this.verifyMs = ema(this.verifyMs, unit);
    return { logits: out.logits.data as Float32Array, newK: out.new_k.data as Float32Array, newV: out.new_v.data as Float32Array };
  }

  /** Predicted duration of a draft-and-verify pass over n tokens, ms (from refinement steps before the first). */
  predictVerifyMs(n: number): number {
    // on the high side (mean + 2 deviations): a fill must not start a pass it cannot finish in time
    const unit = this.verifyMs ? this.verifyMs + 2 * this.verifyDev : (this.stepMs * 1.25) / verifyCost(17);
    return unit * verifyCost(n);
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

/**
 * Relative cost of a pass over n new tokens against a cached context: a fixed part (reading the
 * weights and the cache) plus a part per token. Measured on 2 cores with the 14m model and a
 * 450-token cache: 5.7 ms at n = 1, 8.9 ms at 17, 10.9 ms at 29.
 */
function verifyCost(n: number): number {
  return 1 + (n - 1) / 30;
}

function ema(prev: number, x: number): number {
  return prev === 0 ? x : 0.7 * prev + 0.3 * x;
}

/**
 * The cache with the first `keep` (default all) of N new positions appended (new_k [L,1,H,Dh,N],
 * new_v [L,1,H,N,Dh] from the graph), or with the listed rows in their order (a draft tree's
 * accepted path).
 */
export function appendKv(past: Kv, newK: Float32Array, newV: Float32Array, n: number, dims: ModelDims, keep: number | readonly number[] = n): Kv {
  let rows: readonly number[] | undefined;
  if (typeof keep !== 'number') {
    // rows 0..r-1 are the plain prefix case
    if (keep.some((x, i) => x !== i)) rows = keep;
    keep = keep.length;
  }
  const { layers, heads, headDim } = dims;
  const P = past.length;
  const Q = P + keep;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let l = 0; l < layers; l++) {
    const ko = new Float32Array(heads * headDim * Q);
    const kp = past.k[l];
    const kn = newK.subarray(l * heads * headDim * n, (l + 1) * heads * headDim * n);
    for (let r = 0; r < heads * headDim; r++) {
      if (P > 0) ko.set(kp.subarray(r * P, r * P + P), r * Q);
      if (rows) for (let i = 0; i < keep; i++) ko[r * Q + P + i] = kn[r * n + rows[i]];
      else ko.set(kn.subarray(r * n, r * n + keep), r * Q + P);
    }
    const vo = new Float32Array(heads * Q * headDim);
    const vp = past.v[l];
    const vn = newV.subarray(l * heads * n * headDim, (l + 1) * heads * n * headDim);
    for (let h = 0; h < heads; h++) {
      if (P > 0) vo.set(vp.subarray(h * P * headDim, (h + 1) * P * headDim), h * Q * headDim);
      if (rows) for (let i = 0; i < keep; i++) vo.set(vn.subarray((h * n + rows[i]) * headDim, (h * n + rows[i] + 1) * headDim), (h * Q + P + i) * headDim);
      else vo.set(vn.subarray(h * n * headDim, (h * n + keep) * headDim), (h * Q + P) * headDim);
    }
    k.push(ko);
    v.push(vo);
  }
  return { k, v, length: Q };
}

/** The first `len` positions of a KV cache. */
export function truncateKv(kv: Kv, len: number, dims: ModelDims): Kv {
  if (len >= kv.length) return kv;
  const { layers, heads, headDim } = dims;
  const P = kv.length;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let l = 0; l < layers; l++) {
    const ko = new Float32Array(heads * headDim * len);
    for (let r = 0; r < heads * headDim; r++) ko.set(kv.k[l].subarray(r * P, r * P + len), r * len);
    // values: the first len rows of each head
    const vo = new Float32Array(heads * len * headDim);
    for (let h = 0; h < heads; h++) vo.set(kv.v[l].subarray(h * P * headDim, (h * P + len) * headDim), h * len * headDim);
    k.push(ko);
    v.push(vo);
  }
  return { k, v, length: len };
}

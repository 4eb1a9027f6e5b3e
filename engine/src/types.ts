/**
 * Public types of the Diffill engine. The engine is a plain library (no `vscode` import):
 * the language server, the CLI, benchmarks and tests all drive it through these types.
 */

/** How far a fill may run. */
export type FillMode =
  /** Stop at the end of the current line (ghost text while typing mid-line). */
  | 'line'
  /** Several lines: chain blocks, stop at a dedent or at a line the suffix already has. */
  | 'multiline'
  /** A span between prefix and suffix of unknown length (selection infill). */
  | 'span'
  /** Let the engine choose between 'line' and 'multiline' from the cursor's surroundings. */
  | 'auto';

/**
 * 'parallel' (default): draft and verify, several tokens committed per forward pass, the same text
 * as 'sequential'. 'sequential': one token per forward pass on the model's causal path (the
 * baseline). 'diffusion': confidence-threshold refinement of a masked block; 'diffusion-sequential':
 * the same block refined one slot per step. 'beam': beam search on the causal path (the most
 * probable completion among `beamWidth` hypotheses per token, one pass per token; slower). See
 * engine/src/draftVerify.ts, beam.ts and sampler.ts.
 */
export type Decoding = 'parallel' | 'sequential' | 'diffusion' | 'diffusion-sequential' | 'beam';
export const DECODINGS: readonly Decoding[] = ['parallel', 'sequential', 'diffusion', 'diffusion-sequential', 'beam'];

export interface FillRequest {
  /** Text before the cursor (the engine keeps only the last maxContextTokens worth). */
  prefix: string;
  /** Text after the cursor. */
  suffix: string;
  mode?: FillMode;
  /** Latency promise in ms: at the deadline the engine returns what it has decided so far. */
  budgetMs?: number;
  /** Stops work within one forward pass; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Key of the KV cache to reuse (e.g. the document URI). Different documents use different keys. */
  cacheKey?: string;
  /**
   * Multi-line mode: the completion ends before the first line, after the first, that holds a
   * token the model gave less than this probability (default MIN_LINE_P, 0.2; 0: off; above 1:
   * the first line only).
   */
  minLineP?: number;
  /** Most tokens to generate in total (default depends on mode). */
  maxTokens?: number;
  /** How the middle is decoded (default 'parallel'; see Decoding). */
  decoding?: Decoding;
  /** 'beam' decoding: hypotheses kept per token (default 3, at most 8; 1 is greedy). */
  beamWidth?: number;
  /**
   * Single-line fills (mode 'line', or 'auto' resolved to it) without an explicit `decoding`: above 1,
   * beam search of this width instead of draft-and-verify (LINE_BEAM_WIDTH by default: 2; 1 is greedy draft-and-verify).
   * Other modes keep their decoding: a multi-line beam costs one pass per token. With 1, the two
   * rules below still hold: a greedy line they would reject is decoded again by a beam of width 1.
   * An explicit `decoding: 'parallel'` is the plain greedy line, without them.
   */
  lineBeamWidth?: number;
  /**
   * Beam decoding of a single line (and lineBeamWidth 1) on a blank line (nothing but whitespace around the cursor):
   * by default the most probable non-empty line is proposed, since an empty completion shows
   * nothing. true lets the beam end at once (the model's "a blank line goes here"), as before.
   */
  emptyOnBlankLine?: boolean;
  /**
   * Beam decoding of a single line (and lineBeamWidth 1): by default a line that would be a copy of the next non-blank
   * line of the suffix is not proposed (the next most probable line is). true allows it, as before.
   */
  repeatNextLine?: boolean;
  /** 'diffusion' decoding: confidence threshold for parallel commits (default 0.9). */
  threshold?: number;
  /** 'parallel' decoding: mask slots drafted per pass, and the longest draft verified in one pass. */
  masks?: number;
  maxDraft?: number;
  /** 'parallel' decoding: drafts copied from the context after a match of at least this many tokens (default 1; 0: off). */
  lookup?: number;
  /**
   * 'parallel' decoding: characters of the document outside the model's window, each side, that
   * drafts may also be copied from (default 12000; 0: only the window). Verification keeps the text
   * identical; only the number of passes changes.
   */
  lookupFar?: number;
  /**
   * 'parallel' decoding, draft trees (models of format 3; DraftVerifyOptions has the details):
   * drafts verified beside the main one in each pass (default 7; 0: one draft per pass), their
   * longest (default 5), the most draft tokens in one pass (default 32), runners-up of the first
   * mask slot among them (default 3), and where the mask slots go (default 'root': after the
   * decided tokens).
   */
  branches?: number;
  branchLen?: number;
  treeNodes?: number;
  alternatives?: number;
  maskRoot?: 'end' | 'root' | 'auto';
}

export interface FillResult {
  /** The text to insert at the cursor (may be empty). */
  text: string;
  /** Per-character-run confidence: one entry per generated token, [text, probability]. */
  tokens: Array<{ text: string; p: number }>;
  /** Forward passes used (context extension included). */
  forwards: number;
  /** Refinement steps (block forwards). */
  steps: number;
  /** Wall time in ms. */
  ms: number;
  /** True when the deadline cut the fill short. */
  truncated: boolean;
  /** Context tokens that were served from the KV cache instead of recomputed. */
  cachedTokens: number;
  /** Context tokens computed for this request. */
  newTokens: number;
  /** The mode the fill ran in ('auto' resolved). */
  mode: 'line' | 'multiline' | 'span';
}

export interface EngineInfo {
  modelName: string;
  modelDir: string;
  params: number;
  blockSize: number;
  /** Until the engine is ready to serve (tokenizer, ONNX session; the warm-up too when it was awaited). */
  loadMs: number;
  /** The warm-up fill's own time, once it has run (undefined before, or when it is off). */
  warmupMs?: number;
  threads: number;
  executionProvider: string;
}

export interface EngineOptions {
  /** Folder holding model.onnx, tokenizer.json and config.json. */
  modelDir: string;
  /** intraOpNumThreads for ONNX Runtime (default: number of physical cores, at most 4). */
  threads?: number;
  /** Context budget in tokens (suffix + prefix). */
  maxContextTokens?: number;
  /**
   * A warm-up fill on a context of the usual size, so that ONNX Runtime has planned and allocated
   * for it before the first real request (the first fill of a fresh document is then as fast as
   * later ones). 'background' (the default, or true): loadEngine resolves once the session is
   * created, and the warm-up runs first in the engine's queue (requests made meanwhile wait for it);
   * 'wait': loadEngine resolves after it; 'off' (or false): none.
   */
  warmup?: boolean | 'background' | 'wait' | 'off';
  /** ONNX Runtime execution providers to try before 'cpu' (e.g. 'coreml', 'dml', 'cuda'). */
  executionProviders?: string[];
  /** Block size of single-line fills (default 16; the model was trained on blocks of 8-32). */
  lineBlockSize?: number;
  /** Documents whose KV cache is kept (default: one float32 context and as many fp16 ones as fit 32 MiB, 2 to 4; index.ts defaultCacheEntries). */
  cacheEntries?: number;
  /** Longest context extension run as one pass (default 128 tokens; 0: one pass however long). */
  extendChunk?: number;
  /** Progress while loading: a fraction 0..1 and a message. */
  onProgress?: (fraction: number, message: string) => void;
}

/** Random-span infill: candidates for the text between prefix and suffix, best first. */
export interface InfillRequest {
  prefix: string;
  suffix: string;
  /** How many distinct candidates to try for (default 4). */
  candidates?: number;
  budgetMs?: number;
  signal?: AbortSignal;
  cacheKey?: string;
  maxTokens?: number;
}

export interface InfillCandidate {
  text: string;
  /** Mean log-probability of its tokens (higher is better). */
  score: number;
  /** How it was decoded (e.g. "parallel@0.9", "sample@0.7#2"). */
  method: string;
  tokens: Array<{ text: string; p: number }>;
}

export interface InfillResult {
  candidates: InfillCandidate[];
  forwards: number;
  ms: number;
  truncated: boolean;
}

/** Refactor in place: re-mask the tokens the model finds unlikely and denoise them again. */
export interface RefactorRequest {
  prefix: string;
  selection: string;
  suffix: string;
  /** Rounds of score -> re-mask -> denoise (default 3). */
  rounds?: number;
  /** Tokens whose probability (masked, both sides visible) is below this are re-masked (default 0.05). */
  threshold?: number;
  /** At most this fraction of a window is re-masked per round (default 0.25). */
  maxFraction?: number;
  budgetMs?: number;
  signal?: AbortSignal;
}

export interface RefactorResult {
  /** The rewritten selection (equal to the input when nothing changed). */
  text: string;
  changed: boolean;
  /** Each token of the original selection with the model's probability for it (the confidence view). */
  original: Array<{ text: string; p: number; start: number; end: number }>;
  rounds: number;
  forwards: number;
  ms: number;
  truncated: boolean;
}

export interface Engine {
  readonly info: EngineInfo;
  fill(req: FillRequest): Promise<FillResult>;
  infill(req: InfillRequest): Promise<InfillResult>;
  refactor(req: RefactorRequest): Promise<RefactorResult>;
  /** Forget the KV cache of one key (document closed) or of all. */
  evict(cacheKey?: string): void;
  /**
   * Resolves once the warm-up has run (at once when there is none) with its time in ms; rejects
   * when it failed (the engine still serves: the error is the one a request would meet too).
   */
  whenWarm?(): Promise<number | undefined>;
  /** The documents' KV caches as kept now: entries, how many wait packed as fp16, and their bytes. */
  cacheStats?(): KvCacheStats;
  /** Packs idle documents' KV caches now, as the engine does by itself once idle (benchmarks, tests). */
  packIdleCaches?(): void;
  dispose(): Promise<void>;
}

export interface KvCacheStats {
  entries: number;
  packed: number;
  bytes: number;
}

/**
 * Diffill's custom protocol, shared by the client (client/src) and the server (server/src).
 * Everything standard (inline completions, configuration, logging) goes through plain LSP;
 * this file only declares what LSP has no word for. Keep it free of imports so both bundles
 * can compile it.
 */

// ---- extensions ------------------------------------------------------------------------------

/** Server → client: the one source the status bar renders from. */
export const StatusNotificationMethod = 'diffill/status';

export type ServerState = 'loading' | 'ready' | 'thinking' | 'error' | 'disabled';

export interface StatusParams {
  state: ServerState;
  /** Human-readable detail: load progress, the error, why completions are off. */
  message?: string;
  /** Model load progress 0..1 while state is 'loading'. */
  progress?: number;
  /** Wall time of the last completion the engine computed, in ms. */
  lastLatencyMs?: number;
  /** Name of the loaded model. */
  model?: string;
}

// ---- selection commands (Infill Selection, Refactor Selection, the confidence view) -----------

/** LSP's Position and Range, restated so this module stays free of imports. */
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface SelectionParams {
  textDocument: { uri: string; version?: number };
  /** The selection; an empty range is a cursor (infill inserts there). */
  range: LspRange;
  /** A client-chosen `$/progress` token (LSP WorkDoneProgressParams); else the server creates one. */
  workDoneToken?: string | number;
}

/** Client → server: candidates for the text of `range`, regenerated from the text around it. */
export const InfillSpanRequestMethod = 'diffill/infillSpan';

export interface InfillSpanParams extends SelectionParams {
  /** How many distinct candidates to try for (1-8, default 4). */
  candidates?: number;
}

export interface InfillSpanResult {
  /** Best first; each replaces exactly `range`. Line breaks follow the document's. */
  candidates: Array<{ text: string; score: number }>;
  /** The document version the candidates were computed on. */
  version: number;
  ms: number;
  /** True when the deadline cut the search short. */
  truncated: boolean;
}

/** Client → server: the selection rewritten by re-masking the tokens the model finds unlikely. */
export const RefactorRequestMethod = 'diffill/refactor';

export interface RefactorParams extends SelectionParams {
  /** Only score the selection's tokens (the confidence view); no rewrite, no edits. */
  scoreOnly?: boolean;
}

export interface RefactorResult {
  /** Edits inside `range` (none when nothing changed); applied together they give `newText`. */
  edits: Array<{ range: LspRange; newText: string }>;
  /** The whole rewritten selection. */
  newText: string;
  changed: boolean;
  /** The model's probability of each token of the original selection (both sides visible). */
  confidence: Array<{ range: LspRange; p: number }>;
  /** The document version the result was computed on. */
  version: number;
  ms: number;
  truncated: boolean;
}

/** `data.reason` of the ResponseError a selection command is refused with. */
export type SelectionErrorReason =
  | 'no-document'
  | 'bad-range'
  | 'empty-document'
  | 'empty-selection'
  | 'too-many-lines'
  | 'binary'
  | 'no-model'
  | 'outdated'
  /** The engine ran well past the budget (latencyBudgetMs × commandTimeoutFactor) and was stopped. */
  | 'timeout';

/** Selections longer than this many lines are refused. */
export const MAX_SELECTION_LINES = 5000;

// ---- settings ---------------------------------------------------------------------------------

/** The languages Diffill activates on (VS Code language ids). */
export const SUPPORTED_LANGUAGES = [
  'python',
  'typescript',
  'typescriptreact',
  'javascript',
  'javascriptreact',
] as const;

/**
 * The `diffill.*` settings as the client sends them: in `initializationOptions.settings` and in
 * `workspace/didChangeConfiguration` as `{ settings: { diffill: DiffillSettings } }`.
 */
export interface DiffillSettings {
  enable: boolean;
  /** Per-language switch keyed by language id; a supported language missing here is on. */
  languages: Record<string, boolean>;
  latencyBudgetMs: number;
  debounceMs: number;
  maxContextTokens: number;
  /** Model folder; '' = the model shipped in the extension's `models/`. */
  modelPath: string;
  /** ONNX Runtime threads; 0 = automatic. */
  threads: number;
  /** When false, logs never contain document text. */
  verboseLogging: boolean;
  /** Commands that run the model (infill, refactor) may take latencyBudgetMs × this factor. */
  commandTimeoutFactor: number;
  /**
   * Multi-line ghost text: lines after the first are shown only while every token in them had at
   * least this probability (the engine's MIN_LINE_P, README "Multi-line ghost text"); 0 shows all.
   */
  multilineMinConfidence: number;
  /**
   * Single-line ghost text: beam search of this width instead of draft-and-verify when above 1
   * (more lines right, about twice the forward passes; README "Beam search for single lines").
   */
  lineBeamWidth: number;
}

export const DEFAULT_SETTINGS: DiffillSettings = {
  enable: true,
  languages: Object.fromEntries(SUPPORTED_LANGUAGES.map((l) => [l, true])),
  latencyBudgetMs: 150,
  debounceMs: 25,
  maxContextTokens: 768,
  modelPath: '',
  threads: 0,
  verboseLogging: false,
  commandTimeoutFactor: 20,
  multilineMinConfidence: 0.2,
  lineBeamWidth: 2,
};

/** Numeric limits, mirrored by the `minimum`/`maximum` of the manifest's configuration. */
export const SETTING_LIMITS = {
  latencyBudgetMs: { min: 20, max: 2000 },
  debounceMs: { min: 0, max: 1000 },
  maxContextTokens: { min: 64, max: 4096 },
  threads: { min: 0, max: 64 },
  commandTimeoutFactor: { min: 1, max: 200 },
  multilineMinConfidence: { min: 0, max: 1 },
  lineBeamWidth: { min: 1, max: 8 },
} as const;

/**
 * Turns whatever arrived (a partial object, wrong types, out-of-range numbers) into valid settings.
 * Invalid values fall back to the default; numbers are clamped to their limits.
 */
export function normalizeSettings(raw: unknown): DiffillSettings {
  const src = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const bool = (k: 'enable' | 'verboseLogging'): boolean =>
    typeof src[k] === 'boolean' ? (src[k] as boolean) : DEFAULT_SETTINGS[k];
  const num = (k: keyof typeof SETTING_LIMITS): number => {
    const v = src[k];
    const { min, max } = SETTING_LIMITS[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return DEFAULT_SETTINGS[k];
    return Math.min(max, Math.max(min, k === 'commandTimeoutFactor' || k === 'multilineMinConfidence' ? v : Math.round(v)));
  };
  const languages: Record<string, boolean> = { ...DEFAULT_SETTINGS.languages };
  if (src.languages && typeof src.languages === 'object') {
    for (const [id, on] of Object.entries(src.languages as Record<string, unknown>)) {
      if (typeof on === 'boolean') languages[id] = on;
    }
  }
  return {
    enable: bool('enable'),
    languages,
    latencyBudgetMs: num('latencyBudgetMs'),
    debounceMs: num('debounceMs'),
    maxContextTokens: num('maxContextTokens'),
    modelPath: typeof src.modelPath === 'string' ? src.modelPath.trim() : '',
    threads: num('threads'),
    verboseLogging: bool('verboseLogging'),
    commandTimeoutFactor: num('commandTimeoutFactor'),
    multilineMinConfidence: num('multilineMinConfidence'),
    lineBeamWidth: num('lineBeamWidth'),
  };
}

/** Whether completions are wanted for a document of this language under these settings. */
export function isLanguageEnabled(settings: DiffillSettings, languageId: string): boolean {
  if (!settings.enable) return false;
  if (!(SUPPORTED_LANGUAGES as readonly string[]).includes(languageId)) return false;
  return settings.languages[languageId] !== false;
}

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
};

/** Numeric limits, mirrored by the `minimum`/`maximum` of the manifest's configuration. */
export const SETTING_LIMITS = {
  latencyBudgetMs: { min: 20, max: 2000 },
  debounceMs: { min: 0, max: 1000 },
  maxContextTokens: { min: 64, max: 4096 },
  threads: { min: 0, max: 64 },
  commandTimeoutFactor: { min: 1, max: 200 },
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
    return Math.min(max, Math.max(min, k === 'commandTimeoutFactor' ? v : Math.round(v)));
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
  };
}

/** Whether completions are wanted for a document of this language under these settings. */
export function isLanguageEnabled(settings: DiffillSettings, languageId: string): boolean {
  if (!settings.enable) return false;
  if (!(SUPPORTED_LANGUAGES as readonly string[]).includes(languageId)) return false;
  return settings.languages[languageId] !== false;
}

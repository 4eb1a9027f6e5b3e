/**
 * Owns the engine: finds the model, loads it in the background, reloads it when the settings that
 * shape it change or when the model files change on disk (`watch`), and reports where it stands.
 * A model that fails to load leaves the server up with completions off, until its files are fixed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Engine, EngineOptions } from '../../engine/src/types';
import type { DiffillSettings } from './protocol';
import { type Logger, describeError } from './log';

export type LoadEngine = (opts: EngineOptions) => Promise<Engine>;

export type EnginePhase = 'idle' | 'loading' | 'ready' | 'error';

export interface EngineState {
  phase: EnginePhase;
  message?: string;
  progress?: number;
  model?: string;
}

/** The files a model folder must hold. */
export const MODEL_FILES = ['model.onnx', 'tokenizer.json', 'config.json'] as const;

/** The shipped models live next to `dist/`: `<extension>/models/<name>/model.onnx`. */
export function defaultModelsRoot(): string {
  return path.join(__dirname, '..', 'models');
}

/** The first folder (by name) under `root` that holds a model.onnx. */
export function findEmbeddedModel(root: string): string | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return undefined;
  }
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => path.join(root, name))
    .find((dir) => fs.existsSync(path.join(dir, 'model.onnx')));
}

/** The CLI's `--model DIR`: relative to the working directory (a shell command), '' (the shipped
 * model) when absent or empty. The editor's diffill.modelPath stays absolute-only (below). */
export function cliModelPath(dir: string | undefined): string {
  if (!dir) return '';
  return dir.startsWith('~') ? dir : path.resolve(dir);
}

/** The model folder the settings ask for, or why there is none. */
export function resolveModelDir(modelPath: string, root: string): { dir: string } | { error: string } {
  if (modelPath === '') {
    const dir = findEmbeddedModel(root);
    return dir ? { dir } : { error: `no model found: no folder with model.onnx under ${root}` };
  }
  let p = modelPath.startsWith('~') ? path.join(os.homedir(), modelPath.slice(1)) : modelPath;
  if (!path.isAbsolute(p)) return { error: `diffill.modelPath must be an absolute path (got "${modelPath}")` };
  p = path.normalize(p);
  try {
    if (fs.statSync(p).isFile()) p = path.dirname(p);
  } catch {
    return { error: `diffill.modelPath does not exist: ${p}` };
  }
  const missing = MODEL_FILES.filter((f) => !fs.existsSync(path.join(p, f)));
  if (missing.length > 0) return { error: `model folder ${p} lacks ${missing.join(', ')}` };
  return { dir: p };
}

/**
 * Size, mtime and inode of each model file ('-' for a missing one): it changes when a file is
 * written, replaced, removed or added, and costs three stat calls.
 */
export function modelFingerprint(dir: string): string {
  return MODEL_FILES.map((f) => {
    try {
      const st = fs.statSync(path.join(dir, f));
      return `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return '-';
    }
  }).join('|');
}

export interface WatchOptions {
  /** Re-check the model files this often (catches what fs.watch misses: a folder created later, network drives). */
  pollMs: number;
  /** Reload only once the files stopped changing for this long (a copy in progress). */
  settleMs: number;
}

export const DEFAULT_WATCH: WatchOptions = { pollMs: 2000, settleMs: 500 };

type ModelSettings = Pick<DiffillSettings, 'modelPath' | 'threads' | 'maxContextTokens'>;

export class EngineHost {
  private engine: Engine | undefined;
  private loadedKey: string | undefined;
  private generation = 0;
  private pending: Promise<void> = Promise.resolve();
  private _state: EngineState = { phase: 'idle' };
  private settings: ModelSettings | undefined;
  private watching: WatchOptions | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private watchedDir: string | undefined;

  constructor(
    private readonly loadEngine: LoadEngine,
    private readonly modelsRoot: string,
    private readonly log: Logger,
    /** Called on every state change, and with `swapped` when the engine itself changed. */
    private readonly onChange: (state: EngineState, swapped: boolean) => void,
  ) {}

  get state(): EngineState {
    return this._state;
  }

  /** The loaded engine, if any (undefined while the first load runs or after an error). */
  current(): Engine | undefined {
    return this.engine;
  }

  /**
   * (Re)loads the engine when the model folder, the thread count or the context size changed.
   * Resolves when that load finished (or failed: see `state`). Never rejects.
   */
  configure(settings: ModelSettings): Promise<void> {
    this.settings = settings;
    const { resolved, key } = this.keyOf(settings);
    if (key === this.loadedKey) return this.pending;
    this.loadedKey = key;
    const gen = ++this.generation;
    this.pending = this.load(gen, resolved, settings);
    this.rewatch(resolved);
    return this.pending;
  }

  /** Loads again whatever the settings say (the model files were fixed). */
  retry(settings: ModelSettings): Promise<void> {
    this.loadedKey = undefined;
    return this.configure(settings);
  }

  /**
   * Reloads when the model files change: a broken model recovers once it is fixed, a replaced one
   * is picked up. fs.watch on the model folder reacts at once; a poll backs it up.
   */
  watch(options: WatchOptions = DEFAULT_WATCH): void {
    this.watching = options;
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => this.poll(), options.pollMs);
    this.pollTimer.unref?.();
    if (this.settings) this.rewatch(this.keyOf(this.settings).resolved);
  }

  async dispose(): Promise<void> {
    this.watching = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
    this.watcher?.close();
    this.watcher = undefined;
    this.generation++;
    const old = this.engine;
    this.engine = undefined;
    await old?.dispose().catch(() => undefined);
  }

  /** What decides a (re)load: the folder the settings point at, its files, the engine options. */
  private keyOf(settings: ModelSettings): { resolved: { dir: string } | { error: string }; key: string } {
    const resolved = resolveModelDir(settings.modelPath, this.modelsRoot);
    const files = 'dir' in resolved ? modelFingerprint(resolved.dir) : '';
    return { resolved, key: JSON.stringify([resolved, files, settings.threads, settings.maxContextTokens]) };
  }

  private poll(): void {
    if (!this.settings || this.settleTimer) return;
    const { resolved, key } = this.keyOf(this.settings);
    this.rewatch(resolved);
    if (key !== this.loadedKey) this.settle();
  }

  /** (Re)starts the settle timer: reload once nothing changed for settleMs. */
  private settle(): void {
    if (!this.watching) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      if (!this.settings) return;
      if (this.keyOf(this.settings).key === this.loadedKey) return;
      this.log.info('model files changed: reloading');
      void this.configure(this.settings);
    }, this.watching.settleMs);
    this.settleTimer.unref?.();
  }

  private rewatch(resolved: { dir: string } | { error: string }): void {
    if (!this.watching) return;
    const dir = 'dir' in resolved ? resolved.dir : existingFolder(this.settings?.modelPath);
    if (dir === this.watchedDir && this.watcher) return;
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedDir = dir;
    if (!dir) return;
    try {
      this.watcher = fs.watch(dir, { persistent: false }, () => this.settle());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined; // the poll sets it up again
      });
    } catch {
      this.watcher = undefined; // not watchable (gone, no permission): the poll still runs
    }
  }

  private async load(
    gen: number,
    resolved: { dir: string } | { error: string },
    settings: Pick<DiffillSettings, 'threads' | 'maxContextTokens'>,
  ): Promise<void> {
    if ('error' in resolved) {
      await this.swap(gen, undefined);
      this.set(gen, { phase: 'error', message: resolved.error });
      this.log.error(resolved.error);
      return;
    }
    const dir = resolved.dir;
    const name = path.basename(dir);
    this.set(gen, { phase: 'loading', message: `loading model ${name}`, progress: 0, model: name });
    this.log.info(`loading model from ${dir}`);
    const t0 = performance.now();
    try {
      const engine = await this.loadEngine({
        modelDir: dir,
        threads: settings.threads > 0 ? settings.threads : undefined,
        maxContextTokens: settings.maxContextTokens,
        onProgress: (fraction, message) =>
          this.set(gen, { phase: 'loading', message, progress: clamp01(fraction), model: name }),
      });
      if (gen !== this.generation) {
        await engine.dispose().catch(() => undefined); // a newer configure() won
        return;
      }
      await this.swap(gen, engine);
      const i = engine.info;
      this.log.info(
        `model ${i.modelName} ready in ${(performance.now() - t0).toFixed(0)} ms ` +
          `(${(i.params / 1e6).toFixed(1)} M params, block ${i.blockSize}, ${i.threads} threads, ${i.executionProvider})`,
      );
      this.set(gen, { phase: 'ready', model: i.modelName });
      engine.whenWarm?.().then(
        (ms) => {
          if (ms !== undefined && gen === this.generation) this.log.info(`model ${i.modelName} warmed up in ${ms.toFixed(0)} ms`);
        },
        (err) => {
          if (gen === this.generation) this.log.warn(`warm-up of ${i.modelName} failed: ${describeError(err)}`);
        },
      );
    } catch (err) {
      if (gen !== this.generation) return;
      await this.swap(gen, undefined);
      const message = `model ${name} failed to load: ${describeError(err)}`;
      this.log.error(message);
      this.set(gen, { phase: 'error', message, model: name });
    }
  }

  private async swap(gen: number, engine: Engine | undefined): Promise<void> {
    if (gen !== this.generation) return;
    const old = this.engine;
    this.engine = engine;
    if (old !== engine) {
      this.onChange(this._state, true);
      await old?.dispose().catch((err) => this.log.warn(`dispose failed: ${describeError(err)}`));
    }
  }

  private set(gen: number, state: EngineState): void {
    if (gen !== this.generation) return;
    this._state = state;
    this.onChange(state, false);
  }
}

/** modelPath itself when it is an existing absolute folder (its files are missing), else undefined. */
function existingFolder(modelPath: string | undefined): string | undefined {
  if (!modelPath || !path.isAbsolute(modelPath)) return undefined;
  try {
    return fs.statSync(modelPath).isDirectory() ? path.normalize(modelPath) : undefined;
  } catch {
    return undefined;
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/**
 * A test double of the engine for unit tests of the server's own logic (pipeline, engine host).
 * It is not a model: it answers from a script. Protocol tests use the real engine and model.
 */
import type { Engine, EngineInfo, FillRequest, FillResult } from '../../engine/src/types';

export interface ScriptedEngine extends Engine {
  calls: FillRequest[];
  disposed: boolean;
}

/**
 * `answer(req)` gives the text (or the text and whether the deadline cut it short); `delayMs` makes each fill take that long (abortable, like the
 * real engine: it rejects with an AbortError within one "forward").
 */
export function scriptedEngine(
  answer: (req: FillRequest) => string | Error | { text: string; truncated: boolean },
  opts: { delayMs?: number; name?: string } = {},
): ScriptedEngine {
  const info: EngineInfo = {
    modelName: opts.name ?? 'scripted',
    modelDir: '/nowhere',
    params: 0,
    blockSize: 32,
    loadMs: 0,
    threads: 1,
    executionProvider: 'none',
  };
  const engine: ScriptedEngine = {
    info,
    calls: [],
    disposed: false,
    async fill(req: FillRequest): Promise<FillResult> {
      engine.calls.push(req);
      const t0 = performance.now();
      if (opts.delayMs) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, opts.delayMs);
          req.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          });
        });
      }
      if (req.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const out = answer(req);
      if (out instanceof Error) throw out;
      return {
        text: typeof out === 'string' ? out : out.text,
        tokens: [],
        forwards: 1,
        steps: 1,
        ms: performance.now() - t0,
        truncated: typeof out === 'string' ? false : out.truncated,
        cachedTokens: 0,
        newTokens: 0,
        mode: req.mode === 'span' || req.mode === 'multiline' ? req.mode : 'line',
      };
    },
    async infill() {
      throw new Error('the scripted engine only fills');
    },
    async refactor() {
      throw new Error('the scripted engine only fills');
    },
    evict() {},
    async dispose() {
      engine.disposed = true;
    },
  };
  return engine;
}

/**
 * Fault injection for the reliability tests, off unless the environment variable DIFFILL_FAULT is
 * set. It wraps the engine the server loads (the engine itself has no test hooks):
 *
 *   DIFFILL_FAULT=ort-once    the first fill of each loaded engine throws, as a failed
 *                             ONNX Runtime run does; later fills run normally
 *   DIFFILL_FAULT=ort-always  every fill throws
 */
import type { Engine, FillRequest } from '../../engine/src/types';
import type { LoadEngine } from './engineHost';

export type Fault = 'ort-once' | 'ort-always';

const FAULTS: readonly Fault[] = ['ort-once', 'ort-always'];

/** The faults named in `spec` (comma-separated); unknown names are reported, not ignored. */
export function parseFaults(spec: string | undefined): { faults: Fault[]; unknown: string[] } {
  const names = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    faults: names.filter((n): n is Fault => (FAULTS as readonly string[]).includes(n)),
    unknown: names.filter((n) => !(FAULTS as readonly string[]).includes(n)),
  };
}

export class InjectedOrtError extends Error {
  override readonly name = 'Error';
  constructor() {
    super('[DIFFILL_FAULT] injected ONNX Runtime failure: Non-zero status code returned while running MatMulNBits node');
  }
}

/** `load` unchanged when no fault is asked for; otherwise a loader whose engines misbehave. */
export function withFaults(load: LoadEngine, faults: Fault[]): LoadEngine {
  if (faults.length === 0) return load;
  return async (opts) => wrap(await load(opts), faults);
}

/** The same engine with a failing `fill`; everything else passes through (so a wider Engine needs no change here). */
function wrap(engine: Engine, faults: Fault[]): Engine {
  let fills = 0;
  const fill = async (req: FillRequest) => {
    fills++;
    if (faults.includes('ort-always') || (faults.includes('ort-once') && fills === 1)) throw new InjectedOrtError();
    return engine.fill(req);
  };
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'fill') return fill;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

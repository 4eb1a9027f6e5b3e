/**
 * Debounce and supersession as explicit objects: a completion request waits a few milliseconds
 * before it runs the model, and a newer request cancels every older one (one user, one cursor).
 */

/** Resolves true after `ms`, or false as soon as `signal` aborts. Never rejects. */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Hands out one AbortSignal per request; starting a request aborts the previous one. */
export class Supersede {
  private current: AbortController | undefined;

  /**
   * Starts a request. The returned signal aborts when a newer request starts or when `linked`
   * (the LSP cancellation, say) aborts. Call `done` when the request is answered.
   */
  begin(linked?: AbortSignal): { signal: AbortSignal; done: () => void } {
    this.current?.abort(new SupersededError());
    const ctl = new AbortController();
    this.current = ctl;
    const onLinked = (): void => ctl.abort(linked!.reason);
    if (linked) {
      if (linked.aborted) ctl.abort(linked.reason);
      else linked.addEventListener('abort', onLinked, { once: true });
    }
    return {
      signal: ctl.signal,
      done: () => {
        linked?.removeEventListener('abort', onLinked);
        if (this.current === ctl) this.current = undefined;
      },
    };
  }

  /** Aborts whatever is running (settings changed, shutting down). */
  cancelAll(): void {
    this.current?.abort(new SupersededError());
    this.current = undefined;
  }
}

export class SupersededError extends Error {
  override readonly name = 'SupersededError';
  constructor() {
    super('superseded by a newer request');
  }
}

/** Runs tasks one at a time, in call order (the engine computes one fill at a time). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

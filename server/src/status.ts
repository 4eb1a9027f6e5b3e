/**
 * Folds what the server knows (engine state, enable switch, a fill in flight, the last latency)
 * into the single `diffill/status` notification the client's status bar renders.
 *
 * Calm by design: a fill shows 'thinking' only once it has run `thinkingDelayMs` (most fills end
 * before, and the item would flicker on every keystroke), and a change of the last latency alone
 * is sent at most once per `latencyIntervalMs`.
 */
import type { EngineState } from './engineHost';
import type { StatusParams } from './protocol';

export interface StatusTiming {
  thinkingDelayMs: number;
  latencyIntervalMs: number;
}

export const DEFAULT_STATUS_TIMING: StatusTiming = { thinkingDelayMs: 300, latencyIntervalMs: 1000 };

export class StatusReporter {
  private engine: EngineState = { phase: 'idle' };
  private enabled = true;
  /** A fill runs now. */
  private filling = false;
  /** What the status shows: follows `filling` with a delay. */
  private thinking = false;
  private thinkingTimer: NodeJS.Timeout | undefined;
  private lastLatencyMs: number | undefined;
  private lastSent = '';
  private lastSentParams: StatusParams | undefined;
  private lastSentAt = -Infinity;
  private latencyTimer: NodeJS.Timeout | undefined;
  private live = false;

  constructor(
    private readonly send: (params: StatusParams) => void,
    private readonly timing: StatusTiming = DEFAULT_STATUS_TIMING,
  ) {}

  /** Nothing is sent before the client finished initializing. */
  start(): void {
    this.live = true;
    this.flush();
  }

  setEngine(state: EngineState): void {
    this.engine = state;
    this.flush();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.flush();
  }

  /** A fill started (true) or ended (false, with its latency when it produced one). */
  setThinking(filling: boolean, latencyMs?: number): void {
    this.filling = filling;
    if (latencyMs !== undefined) this.lastLatencyMs = Math.round(latencyMs);
    clearTimeout(this.thinkingTimer);
    this.thinkingTimer = undefined;
    if (filling === this.thinking) {
      this.flush();
      return;
    }
    // Showing 'thinking' waits thinkingDelayMs; leaving it waits a little too, so that fills
    // that follow each other (typing on a slow machine) keep one steady 'thinking'.
    const wait = filling ? this.timing.thinkingDelayMs : Math.min(150, this.timing.thinkingDelayMs / 2);
    if (wait <= 0) {
      this.thinking = filling;
      this.flush();
      return;
    }
    this.thinkingTimer = setTimeout(() => {
      this.thinkingTimer = undefined;
      this.thinking = this.filling;
      this.flush();
    }, wait);
    this.thinkingTimer.unref?.();
    this.flush();
  }

  /** Stops the timers (shutdown). */
  dispose(): void {
    clearTimeout(this.thinkingTimer);
    clearTimeout(this.latencyTimer);
    this.live = false;
  }

  current(): StatusParams {
    const base = { model: this.engine.model, lastLatencyMs: this.lastLatencyMs };
    switch (this.engine.phase) {
      case 'error':
        return { ...base, state: 'error', message: this.engine.message };
      case 'idle':
      case 'loading':
        return { ...base, state: 'loading', message: this.engine.message, progress: this.engine.progress };
      case 'ready':
        if (!this.enabled) return { ...base, state: 'disabled', message: 'completions are turned off' };
        return { ...base, state: this.thinking ? 'thinking' : 'ready' };
    }
  }

  private flush(): void {
    if (!this.live) return;
    const params = this.current();
    const json = JSON.stringify(params);
    if (json === this.lastSent) return;
    const wait = this.lastSentAt + this.timing.latencyIntervalMs - performance.now();
    if (wait > 0 && onlyLatencyChanged(this.lastSentParams, params)) {
      // Sent later (with whatever is current then), unless something else changes first.
      if (!this.latencyTimer) {
        this.latencyTimer = setTimeout(() => {
          this.latencyTimer = undefined;
          this.flush();
        }, wait);
        this.latencyTimer.unref?.();
      }
      return;
    }
    clearTimeout(this.latencyTimer);
    this.latencyTimer = undefined;
    this.lastSent = json;
    this.lastSentParams = params;
    this.lastSentAt = performance.now();
    this.send(params);
  }
}

function onlyLatencyChanged(before: StatusParams | undefined, after: StatusParams): boolean {
  if (!before) return false;
  return JSON.stringify({ ...before, lastLatencyMs: 0 }) === JSON.stringify({ ...after, lastLatencyMs: 0 });
}

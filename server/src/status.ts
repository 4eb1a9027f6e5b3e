/**
 * Folds what the server knows (engine state, enable switch, a fill in flight, the last latency)
 * into the single `diffill/status` notification the client's status bar renders.
 */
import type { EngineState } from './engineHost';
import type { StatusParams } from './protocol';

export class StatusReporter {
  private engine: EngineState = { phase: 'idle' };
  private enabled = true;
  private thinking = false;
  private lastLatencyMs: number | undefined;
  private lastSent = '';
  private live = false;

  constructor(private readonly send: (params: StatusParams) => void) {}

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

  setThinking(thinking: boolean, latencyMs?: number): void {
    this.thinking = thinking;
    if (latencyMs !== undefined) this.lastLatencyMs = Math.round(latencyMs);
    this.flush();
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
    this.lastSent = json;
    this.send(params);
  }
}

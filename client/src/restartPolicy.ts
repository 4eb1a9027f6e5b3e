/**
 * What happens when the language server dies: restart it, at most `maxRestarts` times within
 * `windowMs`, and tell the status bar. No `vscode` import: unit-tested without the editor;
 * client.ts turns the decisions into vscode-languageclient's CloseAction.
 */
import type { StatusParams } from '../../server/src/protocol';

export interface RestartDecision {
  restart: boolean;
  /** Crashes within the window, this one included. */
  crashes: number;
  /** What the status bar shows until the server reports again. */
  status: StatusParams;
}

export type ClientPhase = 'starting' | 'running' | 'stopped';

export class RestartPolicy {
  private crashes: number[] = [];
  /** The decision for the crash being handled, until the server runs again. */
  private pending: RestartDecision | undefined;
  private gaveUp: RestartDecision | undefined;

  constructor(
    readonly maxRestarts = 4,
    readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The server's connection closed without anyone asking: restart or not. */
  onCrash(): RestartDecision {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    const n = this.crashes.length;
    const minutes = Math.round(this.windowMs / 60_000);
    const decision: RestartDecision =
      n <= this.maxRestarts
        ? {
            restart: true,
            crashes: n,
            status: {
              state: 'loading',
              message: `the language server stopped unexpectedly; restarting it (restart ${n} of ${this.maxRestarts} allowed within ${minutes} min)`,
            },
          }
        : {
            restart: false,
            crashes: n,
            status: {
              state: 'error',
              message: `the language server stopped unexpectedly ${n} times within ${minutes} min and was not restarted; see the log, then reload the window to try again`,
            },
          };
    this.pending = decision;
    if (!decision.restart) this.gaveUp = decision;
    return decision;
  }

  /**
   * What the status bar shows when the client changes phase; undefined leaves it to the server's
   * own diffill/status notifications.
   */
  statusFor(phase: ClientPhase): StatusParams | undefined {
    if (this.gaveUp) return this.gaveUp.status; // stays until the window is reloaded
    switch (phase) {
      case 'running':
        this.pending = undefined;
        return undefined;
      case 'starting':
        return this.pending?.status ?? { state: 'loading', message: 'starting the language server' };
      case 'stopped':
        return this.pending?.status ?? { state: 'error', message: 'the language server stopped' };
    }
  }

  /** Whether the server was given up on. */
  get stopped(): boolean {
    return this.gaveUp !== undefined;
  }
}

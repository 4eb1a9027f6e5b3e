/**
 * The latency promise of one fill. The sampler asks before every refinement step whether the next
 * one still fits: at the deadline it returns what is decided, so a budget is never overrun by more
 * than one forward pass (and usually not at all, since the next step's time is predicted).
 */
export class Deadline {
  readonly end: number;

  constructor(start: number, budgetMs: number) {
    this.end = start + Math.max(0, budgetMs);
  }

  remaining(now = performance.now()): number {
    return this.end - now;
  }

  /** True when a forward pass predicted to take `predictedMs` would end after the deadline. */
  cannotFit(predictedMs: number, now = performance.now()): boolean {
    return now + predictedMs > this.end;
  }
}

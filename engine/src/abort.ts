/** What a fill, an infill or a refactor rejects with when its AbortSignal fired (the server maps it to RequestCancelled). */
export class AbortError extends Error {
  constructor() {
    super('fill cancelled');
    this.name = 'AbortError';
  }
}

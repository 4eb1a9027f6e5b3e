/**
 * An LRU cache of finished completions keyed on the text around the cursor, so that
 * backspace-and-retype (or moving back to a spot) shows the same ghost text at once.
 */
import { createHash } from 'node:crypto';

export class LruCache<V> {
  private readonly map = new Map<string, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('LruCache capacity must be ≥ 1');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      this.map.delete(this.map.keys().next().value as string);
    }
  }

  clear(): void {
    this.map.clear();
  }
}

/**
 * The cache key: a digest of everything that decides the completion (the model's context and the
 * mode), so the keys stay small whatever the window size.
 */
export function contextKey(parts: { prefix: string; suffix: string; mode: string; salt?: string }): string {
  return createHash('sha1')
    .update(parts.salt ?? '')
    .update('\u0000')
    .update(parts.mode)
    .update('\u0000')
    .update(parts.prefix)
    .update('\u0000')
    .update(parts.suffix)
    .digest('base64');
}

/**
 * Exact KV caches of the stable context, one per cache key (document), least recently used first
 * out. A request reuses the longest common token prefix with what is cached: typing extends it by
 * the new tokens only; an edit elsewhere cuts it back to the first changed token and recomputes
 * from there.
 */
import { type Kv, type ModelSession, truncateKv } from './session';

interface Entry {
  ids: number[];
  kv: Kv;
  startOffset: number;
}

export interface Prepared {
  kv: Kv;
  cachedTokens: number;
  newTokens: number;
}

export class KvCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 4) {}

  startOffset(key: string): number | undefined {
    return this.entries.get(key)?.startOffset;
  }

  /** A cache for exactly `ids`, built from what is stored under `key`. */
  async prepare(
    key: string,
    ids: readonly number[],
    startOffset: number,
    session: ModelSession,
    extend: (ids: readonly number[], past: Kv) => Promise<Kv> = (i, p) => session.extend(i, p),
  ): Promise<Prepared> {
    const e = this.entries.get(key);
    let kv: Kv = session.emptyKv();
    let common = 0;
    if (e) {
      common = lcp(e.ids, ids);
      kv = common === e.ids.length ? e.kv : truncateKv(e.kv, common, session.dims);
    }
    if (common === ids.length && e && common === e.ids.length) {
      this.touch(key, e);
      return { kv, cachedTokens: common, newTokens: 0 };
    }
    const grown = await extend(ids.slice(common), kv);
    const entry = { ids: ids.slice(), kv: grown, startOffset };
    this.touch(key, entry);
    return { kv: grown, cachedTokens: common, newTokens: ids.length - common };
  }

  evict(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

export function lcp(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

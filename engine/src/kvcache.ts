/**
 * Exact KV caches of the stable context, one per cache key (document), least recently used first
 * out. A request reuses the longest common token prefix with what is cached: typing extends it by
 * the new tokens only; an edit elsewhere cuts it back to the first changed token and recomputes
 * from there.
 *
 * Entries that wait unused are packed as fp16 (half.ts: half the bytes, relative error at most
 * 2^-11) and unpacked when their document is asked for again, which costs far less than the passes
 * that would rebuild them. Packing is done while the engine is idle (`packStep`, one array at a
 * time), not on a request's path: a request leaves the entry it used and the one used before it in
 * float32 (`LIVE_MAX`), so moving to another document and back before the engine is idle costs no
 * conversion at all, and only a third document touched in that time packs the oldest on the way.
 */
import { packHalf, unpackHalf } from './half';
import { type Kv, type ModelSession, truncateKv } from './session';

interface PackedKv {
  k: Uint16Array[];
  v: Uint16Array[];
  length: number;
}

interface Entry {
  ids: number[];
  kv?: Kv;
  packed?: PackedKv;
  startOffset: number;
  /** fp16 arrays made so far by idle packing (keys first, then values); dropped if the entry is used. */
  packing?: Uint16Array[];
}

/** How many entries a request leaves in float32: the one it used and the one used before it. */
export const LIVE_MAX = 2;

export function packKv(kv: Kv): PackedKv {
  return { k: kv.k.map(packHalf), v: kv.v.map(packHalf), length: kv.length };
}

export function unpackKv(p: PackedKv): Kv {
  return { k: p.k.map(unpackHalf), v: p.v.map(unpackHalf), length: p.length };
}

/** The float32 cache of an entry, unpacking it (and keeping it unpacked) if it waited packed. */
function live(e: Entry): Kv {
  if (!e.kv) {
    e.kv = unpackKv(e.packed as PackedKv);
    e.packed = undefined;
  }
  e.packing = undefined;
  return e.kv;
}

export interface Prepared {
  kv: Kv;
  cachedTokens: number;
  newTokens: number;
  /**
   * With `defer`: the new context tokens that were *not* run (empty when none), so that the
   * caller feeds them causally in front of its first pass instead of paying a pass of their own;
   * it then hands the grown cache (`kv` + exactly these tokens) to `commit`, which stores it.
   */
  pending: number[];
  commit(grown: Kv): void;
}

export class KvCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 4) {}

  startOffset(key: string): number | undefined {
    return this.entries.get(key)?.startOffset;
  }

  /**
   * A cache for exactly `ids`, built from what is stored under `key`. When `signal` fires during
   * the extension, it stops between passes with an AbortError, and what it computed stays stored
   * under `key` (the first tokens of `ids`): the next request, typically the same context plus a
   * keystroke, goes on from there.
   */
  async prepare(
    key: string,
    ids: readonly number[],
    startOffset: number,
    session: Pick<ModelSession, 'emptyKv' | 'dims' | 'extend'>,
    defer = 0,
    signal?: AbortSignal,
  ): Promise<Prepared> {
    const e = this.entries.get(key);
    let kv: Kv = session.emptyKv();
    let common = 0;
    if (e) {
      common = lcp(e.ids, ids);
      // nothing in common: the stored cache is not needed, so a packed one is not unpacked
      if (common > 0) {
        const whole = live(e);
        kv = common === e.ids.length ? whole : truncateKv(whole, common, session.dims);
      }
    }
    if (common === ids.length && e && common === e.ids.length) {
      this.touch(key, e);
      return { kv, cachedTokens: common, newTokens: 0, pending: [], commit: () => undefined };
    }
    const fresh = ids.slice(common);
    const store = (grown: Kv) => {
      if (grown.length !== ids.length) throw new Error(`KV cache for ${ids.length} tokens expected, got ${grown.length}`);
      this.touch(key, { ids: ids.slice(), kv: grown, startOffset });
    };
    if (common > 0 && fresh.length <= defer) {
      // a few typed tokens: the caller's first pass computes their keys/values exactly (causal);
      // until it commits, the old entry stays, so a request that never runs a pass loses nothing
      let done = false;
      return {
        kv,
        cachedTokens: common,
        newTokens: fresh.length,
        pending: fresh,
        commit: (grown) => {
          if (done) return;
          done = true;
          store(grown);
        },
      };
    }
    const grown = await session.extend(fresh, kv, {
      signal,
      // each pass's cache is stored at once (the entry for a prefix of ids): a cancelled request keeps it
      onPass: (partial) => {
        if (partial.length < ids.length) this.touch(key, { ids: ids.slice(0, partial.length), kv: partial, startOffset });
      },
    });
    store(grown);
    return { kv: grown, cachedTokens: common, newTokens: fresh.length, pending: [], commit: () => undefined };
  }

  evict(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by the cached keys and values (float32 entries at 4 bytes a value, packed ones at 2). */
  get bytes(): number {
    let n = 0;
    for (const e of this.entries.values()) {
      const arrays = e.kv ? [...e.kv.k, ...e.kv.v] : [...(e.packed as PackedKv).k, ...(e.packed as PackedKv).v];
      for (const a of arrays) n += a.byteLength;
    }
    return n;
  }

  /**
   * Packs one more array of the least recently used float32 entry other than the newest, and
   * returns whether any such entry is left to pack. The engine calls it while idle, yielding to
   * requests between calls (about 1 ms an array for a full context of the shipped model).
   */
  packStep(): boolean {
    const keys = [...this.entries.keys()];
    for (const key of keys.slice(0, -1)) {
      const e = this.entries.get(key) as Entry;
      if (!e.kv) continue;
      const arrays = [...e.kv.k, ...e.kv.v];
      const done = (e.packing ??= []);
      done.push(packHalf(arrays[done.length]));
      if (done.length === arrays.length) {
        const n = e.kv.k.length;
        e.packed = { k: done.slice(0, n), v: done.slice(n), length: e.kv.length };
        e.kv = undefined;
        e.packing = undefined;
      }
      return keys.slice(0, -1).some((k) => this.entries.get(k)?.kv);
    }
    return false;
  }

  /** Packs every entry but the newest now (what idle packing ends with). */
  packAll(): void {
    while (this.packStep());
  }

  /** How many entries wait packed as fp16 (those not among the last used, once idle packing ran). */
  get packedCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.packed) n++;
    return n;
  }

  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    // beyond the LIVE_MAX newest, entries are packed now (idle packing does the rest later); a
    // request still running on one keeps its own float32 arrays
    let live = 0;
    for (const k of [...this.entries.keys()].reverse()) {
      const other = this.entries.get(k) as Entry;
      if (!other.kv) continue;
      if (++live <= LIVE_MAX) continue;
      other.packed = packKv(other.kv);
      other.kv = undefined;
      other.packing = undefined;
    }
  }
}

export function lcp(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

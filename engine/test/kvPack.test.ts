/**
 * KV caches that wait unused are packed as fp16 (half.ts, kvcache.ts): the conversion rounds to
 * the nearest fp16 value, and the cache keeps only its most recently used entry in float32 while
 * giving every entry back whole when its key is asked for again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { halfBits, halfValue, packHalf, unpackHalf } from '../src/half';
import { KvCache, LIVE_MAX } from '../src/kvcache';
import type { Kv } from '../src/session';

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];

test('halfBits rounds float32 to the nearest fp16, ties to even, with subnormals, Inf and NaN', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // rounds up to Inf
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -26, 0x0000], // below half the smallest subnormal
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (1 + 2^-9)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
  ];
  for (const [x, h] of cases) assert.equal(halfBits(bitsOf(x)), h, `${x}`);
  assert.ok(Number.isNaN(halfValue(halfBits(bitsOf(NaN)))));
});

test('every fp16 value survives a float32 round trip, and packing keeps 2^-11 relative precision', () => {
  for (let h = 0; h < 65536; h++) {
    const x = halfValue(h);
    if (Number.isNaN(x)) continue;
    assert.equal(halfBits(bitsOf(x)), h, `0x${h.toString(16)}`);
  }
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 40;
  const src = Float32Array.from({ length: 10_000 }, rnd);
  const back = unpackHalf(packHalf(src));
  for (let i = 0; i < src.length; i++) {
    const tol = Math.max(Math.abs(src[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(back[i] - src[i]) <= tol, `${src[i]} -> ${back[i]}`);
  }
});

test('packHalf gives halfBits for every value: its fast path for normal values rounds the same way', () => {
  const xs: number[] = [1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 65504, 65519, 65520, 2 ** -14, 2 ** -14 - 2 ** -25, 2 ** -24, 1e-9, NaN, Infinity, -0, 0];
  // ties and near-ties at every exponent of the half range
  for (let e = -14; e <= 15; e++) for (const m of [0x1000, 0x3000, 0x0fff, 0x1001, 0x7fffff, 0x7ff000]) xs.push((1 + m / 2 ** 23) * 2 ** e);
  let seed = 11;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    xs.push((seed / 2 ** 31 - 0.5) * 2 ** ((seed % 40) - 20));
  }
  const src = Float32Array.from(xs);
  const packed = packHalf(src);
  const bits = new Uint32Array(src.buffer);
  for (let i = 0; i < src.length; i++) assert.equal(packed[i], halfBits(bits[i]), `${src[i]}`);
  const back = unpackHalf(packed);
  for (let i = 0; i < src.length; i++) {
    if (Number.isNaN(src[i])) assert.ok(Number.isNaN(back[i]));
    else assert.equal(back[i], halfValue(packed[i]));
  }
});

/** A stand-in session: the "cache" of token t at layer l holds the value t + l / 8 (exact in fp16). */
const dims = { layers: 2, heads: 1, headDim: 2, vocab: 16 };
const fake = {
  dims,
  passes: 0,
  emptyKv(): Kv {
    return { k: [new Float32Array(0), new Float32Array(0)], v: [new Float32Array(0), new Float32Array(0)], length: 0 };
  },
  async extend(ids: readonly number[], past: Kv): Promise<Kv> {
    this.passes++;
    const all = [...kvIds(past), ...ids];
    const layer = (l: number) => Float32Array.from(all.flatMap((t) => [t + l / 8, t + l / 8]));
    return { k: [layer(0), layer(1)], v: [layer(0), layer(1)], length: all.length };
  },
};
function kvIds(kv: Kv): number[] {
  return Array.from({ length: kv.length }, (_, i) => kv.v[0][2 * i]);
}

test('KvCache leaves the last two documents in float32, packs the others when idle and gives a packed one back whole', async () => {
  const cache = new KvCache(3);
  const a = [1, 2, 3, 4];
  const b = [5, 6, 7];
  await cache.prepare('a', a, 0, fake);
  await cache.prepare('b', b, 0, fake);
  assert.equal(cache.packedCount, 0, 'moving to b packs nothing on the request path');
  cache.packAll(); // what the engine does once idle
  assert.equal(cache.packedCount, 1, 'a waits packed');
  const passes = fake.passes;
  const again = await cache.prepare('a', [...a, 9], 0, fake);
  assert.equal(again.cachedTokens, 4, 'the packed cache is reused, not rebuilt');
  assert.equal(fake.passes - passes, 1);
  assert.deepEqual(kvIds(again.kv), [...a, 9]);
  assert.deepEqual(Array.from(again.kv.k[1]), [...a, 9].flatMap((t) => [t + 1 / 8, t + 1 / 8]));
  assert.equal(cache.packedCount, 0, 'a was unpacked, b is still float32');
  cache.packAll();
  assert.equal(cache.packedCount, 1, 'now b waits packed and a is float32');
  const hit = await cache.prepare('b', b, 0, fake);
  assert.equal(hit.newTokens, 0);
  assert.deepEqual(kvIds(hit.kv), b);
});

test(`a third document touched before any idle time packs the oldest of the float32 ones (LIVE_MAX ${LIVE_MAX})`, async () => {
  const cache = new KvCache(4);
  await cache.prepare('a', [1, 2], 0, fake);
  await cache.prepare('b', [3, 4], 0, fake);
  await cache.prepare('c', [5, 6], 0, fake);
  assert.equal(cache.packedCount, 1);
  const hit = await cache.prepare('a', [1, 2], 0, fake);
  assert.deepEqual(kvIds(hit.kv), [1, 2], 'a, packed on the way, comes back whole');
  assert.equal(cache.packedCount, 1, 'b is packed now, c and a are float32');
});

test('idle packing goes one array at a time, and a request in between gets the float32 cache whole', async () => {
  const cache = new KvCache(3);
  await cache.prepare('a', [1, 2, 3], 0, fake);
  await cache.prepare('b', [4], 0, fake);
  const bytes = cache.bytes;
  assert.equal(cache.packStep(), true, 'more arrays of a are left');
  assert.equal(cache.packedCount, 0, 'a stays float32 until all its arrays are packed');
  assert.equal(cache.bytes, bytes, 'the bytes of a half-packed entry are still its float32 ones');
  const used = await cache.prepare('a', [1, 2, 3], 0, fake); // the user comes back to a
  assert.deepEqual(kvIds(used.kv), [1, 2, 3]);
  // b is the idle one now: 2 layers x (k + v) = 4 arrays, the last step packs it and says none is left
  assert.equal(cache.packStep(), true);
  assert.equal(cache.packStep(), true);
  assert.equal(cache.packStep(), true);
  assert.equal(cache.packStep(), false);
  assert.equal(cache.packedCount, 1);
  assert.equal(cache.packStep(), false, 'nothing is left: the newest entry is never packed');
  assert.deepEqual(kvIds((await cache.prepare('b', [4], 0, fake)).kv), [4]);
});

test('packing another entry never changes the arrays a running request holds', async () => {
  const cache = new KvCache(2);
  const held = await cache.prepare('a', [1, 2, 3], 0, fake);
  const copy = held.kv.k.map((x) => Float32Array.from(x));
  await cache.prepare('b', [4, 5], 0, fake);
  cache.packAll(); // packs a
  assert.equal(cache.packedCount, 1);
  held.kv.k.forEach((x, l) => assert.deepEqual(Array.from(x), Array.from(copy[l])));
});

test('KvCache counts its bytes: float32 entries at 4 bytes a value, packed ones at 2', async () => {
  const cache = new KvCache(3);
  await cache.prepare('a', [1, 2, 3, 4], 0, fake); // 2 layers x (k + v) x 4 tokens x 2 values
  assert.equal(cache.bytes, 2 * 2 * 4 * 2 * 4);
  await cache.prepare('b', [5, 6], 0, fake);
  assert.equal(cache.bytes, 2 * 2 * 4 * 2 * 4 + 2 * 2 * 2 * 2 * 4, 'both float32 until idle');
  cache.packAll();
  assert.equal(cache.bytes, 2 * 2 * 4 * 2 * 2 + 2 * 2 * 2 * 2 * 4);
  cache.evict();
  assert.equal(cache.bytes, 0);
});

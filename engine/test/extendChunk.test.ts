/**
 * Context extension in passes of at most `extendChunk` tokens (the default since session 19, for
 * resident memory): on the shipped model it runs ceil(n / chunk) passes, and the cache it builds
 * is the one a single pass builds, up to the int8 kernels' rounding, with the same next-token
 * prediction after it. A cancelled request stops between passes and keeps the passes it ran.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AbortError, readModelConfig } from '../src/index';
import { KvCache } from '../src/kvcache';
import { EXTEND_CHUNK, type ExtendOptions, type Kv, ModelSession, truncateKv } from '../src/session';
import { CodeTokenizer } from '../src/tokenizer';
import { NO_MODEL, ROOT, shippedModelDir } from './helpers';

const dir = shippedModelDir();
const skip = dir ? false : NO_MODEL;
let one: ModelSession;
let chunked: ModelSession;
let ids: number[];

before(async () => {
  if (!dir) return;
  const conf = readModelConfig(dir);
  const m = conf.model;
  const dims = { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab };
  const onnx = path.join(dir, 'model.onnx');
  one = await ModelSession.create(onnx, dims, { threads: 2, extendChunk: 0 });
  chunked = await ModelSession.create(onnx, dims, { threads: 2, extendChunk: 16 });
  const tok = CodeTokenizer.load(path.join(dir, 'tokenizer.json'), conf.special_tokens);
  const text = fs.readFileSync(path.join(ROOT, 'training', 'data.py'), 'utf8').slice(0, 1200);
  ids = [conf.special_tokens.suf, conf.special_tokens.pre, ...tok.encode(text)].slice(0, 100);
});
after(async () => {
  await one?.dispose();
  await chunked?.dispose();
});

function relDiff(a: Kv, b: Kv): number {
  let num = 0;
  let den = 0;
  for (let l = 0; l < a.k.length; l++) {
    for (const [x, y] of [[a.k[l], b.k[l]], [a.v[l], b.v[l]]]) {
      assert.equal(x.length, y.length);
      for (let i = 0; i < x.length; i++) {
        num = Math.max(num, Math.abs(x[i] - y[i]));
        den = Math.max(den, Math.abs(x[i]));
      }
    }
  }
  return num / den;
}

test('the default chunk is a positive token count', () => {
  assert.ok(Number.isInteger(EXTEND_CHUNK) && EXTEND_CHUNK > 0);
});

test('a 100-token extension runs in ceil(100 / 16) passes and gives the single pass its cache', { skip }, async () => {
  assert.equal(ids.length, 100);
  const f1 = one.forwards;
  const a = await one.extend(ids, one.emptyKv());
  assert.equal(one.forwards - f1, 1);
  const f2 = chunked.forwards;
  const b = await chunked.extend(ids, chunked.emptyKv());
  assert.equal(chunked.forwards - f2, 7);
  assert.equal(a.length, 100);
  assert.equal(b.length, 100);
  const d = relDiff(a, b);
  assert.ok(d < 0.05, `keys/values differ by ${d} of their largest magnitude`);
  // the same next-token prediction after either cache
  const argmax = (x: Float32Array, V: number) => {
    let best = 0;
    for (let i = 1; i < V; i++) if (x[i] > x[best]) best = i;
    return best;
  };
  const V = one.dims.vocab;
  const last = ids[ids.length - 1];
  // the step pass feeds the last context token again: the cache holds the tokens before it
  const la = await one.step([last], truncateKv(a, 99, one.dims));
  const lb = await chunked.step([last], truncateKv(b, 99, chunked.dims));
  assert.equal(argmax(lb, V), argmax(la, V));
});

test('extending in chunks onto an existing cache appends exactly the new tokens', { skip }, async () => {
  const start = await chunked.extend(ids.slice(0, 40), chunked.emptyKv());
  const f = chunked.forwards;
  const grown = await chunked.extend(ids.slice(40), start);
  assert.equal(chunked.forwards - f, Math.ceil(60 / 16));
  assert.equal(grown.length, 100);
});

test('a signal that fires stops the extension between passes; a pass that runs is not cut', { skip }, async () => {
  const ac = new AbortController();
  const seen: number[] = [];
  const f = chunked.forwards;
  await assert.rejects(
    chunked.extend(ids, chunked.emptyKv(), {
      signal: ac.signal,
      onPass: (g) => {
        seen.push(g.length);
        if (g.length === 32) ac.abort();
      },
    }),
    AbortError,
  );
  assert.deepEqual(seen, [16, 32]);
  assert.equal(chunked.forwards - f, 2);
  // already cancelled: no pass at all
  const f2 = chunked.forwards;
  await assert.rejects(chunked.extend(ids, chunked.emptyKv(), { signal: AbortSignal.abort() }), AbortError);
  assert.equal(chunked.forwards, f2);
});

test('KvCache: a cancelled extension keeps its passes under the key; the next request goes on from there', { skip }, async () => {
  const cache = new KvCache(3);
  const ac = new AbortController();
  // the session as the cache sees it, with the signal fired right after the first pass
  const cancelAfterFirst = {
    emptyKv: () => chunked.emptyKv(),
    dims: chunked.dims,
    extend: (x: readonly number[], past: Kv, o: ExtendOptions = {}) =>
      chunked.extend(x, past, {
        ...o,
        onPass: (g) => {
          o.onPass?.(g);
          ac.abort();
        },
      }),
  };
  await assert.rejects(cache.prepare('doc', ids, 0, cancelAfterFirst, 0, ac.signal), AbortError);
  const f = chunked.forwards;
  const p = await cache.prepare('doc', ids, 0, chunked);
  assert.equal(p.cachedTokens, 16, 'the first pass was kept');
  assert.equal(p.newTokens, 84);
  assert.equal(chunked.forwards - f, Math.ceil(84 / 16));
  assert.equal(p.kv.length, 100);
  const whole = await one.extend(ids, one.emptyKv());
  const d = relDiff(whole, p.kv);
  assert.ok(d < 0.05, `resumed cache differs by ${d} of its largest magnitude`);
  // and then it is a plain hit
  const again = await cache.prepare('doc', ids, 0, chunked);
  assert.equal(again.cachedTokens, 100);
  assert.equal(again.newTokens, 0);
});

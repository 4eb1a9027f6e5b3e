/**
 * KV cache arithmetic (no ONNX): appending the listed rows of a pass's new keys/values, as a draft
 * tree's accepted path needs, equals appending them one by one; truncation undoes an append.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendKv, type Kv, truncateKv } from '../src/session';

const dims = { layers: 2, heads: 3, headDim: 4, vocab: 0 };
const L = dims.layers;
const H = dims.heads;
const D = dims.headDim;

/** New keys [L,1,H,Dh,N] / values [L,1,H,N,Dh] whose entries name (layer, head, dim, row). */
function fresh(n: number, base: number) {
  const k = new Float32Array(L * H * D * n);
  const v = new Float32Array(L * H * n * D);
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++)
      for (let d = 0; d < D; d++)
        for (let r = 0; r < n; r++) {
          const x = base + l * 1000 + h * 100 + d * 10 + r;
          k[((l * H + h) * D + d) * n + r] = x;
          v[((l * H + h) * n + r) * D + d] = -x;
        }
  return { k, v };
}

const empty = (): Kv => ({ k: Array.from({ length: L }, () => new Float32Array(0)), v: Array.from({ length: L }, () => new Float32Array(0)), length: 0 });

test('appendKv with a list of rows equals appending those rows one at a time', () => {
  const start = appendKv(empty(), fresh(3, 0).k, fresh(3, 0).v, 3, dims);
  const n = 7;
  const { k, v } = fresh(n, 0.5);
  const rows = [0, 2, 5, 6];
  const got = appendKv(start, k, v, n, dims, rows);
  let want = start;
  for (const r of rows) {
    // a one-row slice of the same pass
    const k1 = new Float32Array(L * H * D);
    const v1 = new Float32Array(L * H * D);
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++)
        for (let d = 0; d < D; d++) {
          k1[(l * H + h) * D + d] = k[((l * H + h) * D + d) * n + r];
          v1[(l * H + h) * D + d] = v[((l * H + h) * n + r) * D + d];
        }
    want = appendKv(want, k1, v1, 1, dims);
  }
  assert.equal(got.length, 3 + rows.length);
  for (let l = 0; l < L; l++) {
    assert.deepEqual([...got.k[l]], [...want.k[l]]);
    assert.deepEqual([...got.v[l]], [...want.v[l]]);
  }
});

test('appendKv: rows 0..r-1 are the same as keep = r; truncateKv undoes an append', () => {
  const start = appendKv(empty(), fresh(2, 0).k, fresh(2, 0).v, 2, dims);
  const { k, v } = fresh(5, 0.25);
  const a = appendKv(start, k, v, 5, dims, [0, 1, 2]);
  const b = appendKv(start, k, v, 5, dims, 3);
  assert.equal(a.length, 5);
  for (let l = 0; l < L; l++) assert.deepEqual([...a.k[l]], [...b.k[l]]);
  const back = truncateKv(a, 2, dims);
  for (let l = 0; l < L; l++) {
    assert.deepEqual([...back.k[l]], [...start.k[l]]);
    assert.deepEqual([...back.v[l]], [...start.v[l]]);
  }
});

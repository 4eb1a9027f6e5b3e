/** The default number of documents whose KV cache is kept follows the model's size (a byte budget). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCacheEntries, KV_CACHE_BUDGET_BYTES } from '../src/index';

test('the budget holds one float32 context and fp16 ones: 4 of the 17m, 3 of the 21m, 2 of 12 or 14 layers, never fewer than 2 or more than 4', () => {
  assert.equal(defaultCacheEntries({ layers: 8, d: 384 }, 480), 4);
  assert.equal(defaultCacheEntries({ layers: 10, d: 384 }, 480), 3);
  assert.equal(defaultCacheEntries({ layers: 12, d: 384 }, 480), 2);
  assert.equal(defaultCacheEntries({ layers: 14, d: 384 }, 480), 2);
  assert.equal(defaultCacheEntries({ layers: 24, d: 1024 }, 480), 2);
  assert.equal(defaultCacheEntries({ layers: 2, d: 64 }, 480), 4);
  // what it keeps (one full context, the rest at half the bytes) stays within the budget whenever more than the floor of 2 fit
  for (const layers of [6, 8, 10, 12, 14]) {
    const n = defaultCacheEntries({ layers, d: 384 }, 480);
    const full = layers * 2 * 384 * 480 * 4;
    if (n > 2) assert.ok(full + ((n - 1) * full) / 2 <= KV_CACHE_BUDGET_BYTES, `layers ${layers}: ${n} entries`);
  }
});

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { LruCache, contextKey } from '../../server/src/completion/cache';

describe('LruCache', () => {
  test('evicts the least recently used entry', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1); // a is now the most recent
    c.set('c', 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('c'), 3);
    assert.equal(c.size, 2);
  });
  test('set on an existing key replaces and refreshes it', () => {
    const c = new LruCache<string>(2);
    c.set('a', 'x');
    c.set('b', 'y');
    c.set('a', 'z');
    c.set('c', 'w');
    assert.equal(c.get('a'), 'z');
    assert.equal(c.get('b'), undefined);
  });
  test('stores empty strings (an empty completion is an answer)', () => {
    const c = new LruCache<string>(1);
    c.set('k', '');
    assert.equal(c.get('k'), '');
  });
  test('capacity must be positive', () => {
    assert.throws(() => new LruCache(0), RangeError);
  });
});

describe('contextKey', () => {
  test('depends on prefix, suffix, mode and salt, not on how they are split', () => {
    const k = contextKey({ prefix: 'ab', suffix: 'c', mode: 'line' });
    assert.equal(k, contextKey({ prefix: 'ab', suffix: 'c', mode: 'line' }));
    assert.notEqual(k, contextKey({ prefix: 'a', suffix: 'bc', mode: 'line' }));
    assert.notEqual(k, contextKey({ prefix: 'ab', suffix: 'c', mode: 'multiline' }));
    assert.notEqual(k, contextKey({ prefix: 'ab', suffix: 'c', mode: 'line', salt: 'model2' }));
  });
});

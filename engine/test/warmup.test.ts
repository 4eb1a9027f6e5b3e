/**
 * The warm-up fill: by default loadEngine resolves once the session exists and the warm-up runs
 * first in the engine's queue; 'wait' resolves after it; 'off' runs none. A request made at once
 * waits for the warm-up and is answered; dispose stops a warm-up that is still running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DiffillEngine, loadEngine, warmupPrefix } from '../src/index';
import { NO_MODEL, shippedModelDir } from './helpers';

const dir = shippedModelDir();
const skip = dir ? false : NO_MODEL;

test('warmupPrefix: about the asked length, plain code lines', () => {
  const p = warmupPrefix(1000);
  assert.ok(p.length >= 1000 && p.length < 1100, `length ${p.length}`);
  assert.ok(p.startsWith('def warm_up():\n'));
  assert.ok(p.endsWith('    return'));
});

test("background (default): ready before the warm-up ran; a fill made at once runs after it and is answered", { skip }, async () => {
  const engine = (await loadEngine({ modelDir: dir!, threads: 2 })) as DiffillEngine;
  try {
    assert.equal(engine.info.warmupMs, undefined, 'the warm-up has not run when loadEngine resolves');
    let warmedAt = 0;
    const warm = engine.whenWarm().then((ms) => {
      warmedAt = performance.now();
      return ms;
    });
    const r = await engine.fill({ prefix: 'def add(a, b):\n    return', suffix: '\n', mode: 'line', budgetMs: 2000, cacheKey: 'doc' });
    const filledAt = performance.now();
    const ms = await warm;
    assert.ok(typeof ms === 'number' && ms > 0, `warm-up time ${ms}`);
    assert.equal(engine.info.warmupMs, ms);
    assert.ok(warmedAt > 0 && warmedAt <= filledAt, 'the queued fill finished after the warm-up');
    assert.ok(r.forwards >= 1, 'the fill ran the model');
    assert.ok(typeof r.text === 'string' && !r.text.includes('\n'));
  } finally {
    await engine.dispose();
  }
});

test("'wait': the warm-up time is known when loadEngine resolves; 'off': there is none", { skip }, async () => {
  const waited = (await loadEngine({ modelDir: dir!, threads: 2, warmup: 'wait' })) as DiffillEngine;
  try {
    assert.ok((waited.info.warmupMs ?? 0) > 0, `warmupMs ${waited.info.warmupMs}`);
    assert.ok(waited.info.loadMs >= waited.info.warmupMs!, 'loadMs includes the awaited warm-up');
  } finally {
    await waited.dispose();
  }
  const off = (await loadEngine({ modelDir: dir!, threads: 2, warmup: 'off' })) as DiffillEngine;
  try {
    assert.equal(await off.whenWarm(), undefined);
    assert.equal(off.info.warmupMs, undefined);
    const forwards0 = off.forwards;
    const r = await off.fill({ prefix: 'x = ', suffix: '\n', mode: 'line', budgetMs: 2000 });
    assert.ok(off.forwards > forwards0 && r.forwards >= 1);
  } finally {
    await off.dispose();
  }
});

test('dispose during the warm-up: it stops, whenWarm rejects, nothing hangs', { skip }, async () => {
  const engine = (await loadEngine({ modelDir: dir!, threads: 2 })) as DiffillEngine;
  const warm = engine.whenWarm();
  await engine.dispose();
  await assert.rejects(warm, (err: Error) => err.name === "AbortError");
});

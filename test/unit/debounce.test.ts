import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Serial, Supersede, SupersededError, delay } from '../../server/src/completion/debounce';

describe('delay', () => {
  test('resolves true after the time', async () => {
    const t0 = performance.now();
    assert.equal(await delay(20), true);
    assert.ok(performance.now() - t0 >= 15);
  });
  test('resolves false as soon as the signal aborts', async () => {
    const ctl = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ctl.abort(), 5);
    assert.equal(await delay(5000, ctl.signal), false);
    assert.ok(performance.now() - t0 < 1000);
  });
  test('an aborted signal does not wait at all', async () => {
    assert.equal(await delay(5000, AbortSignal.abort()), false);
  });
});

describe('Supersede', () => {
  test('a newer request aborts the older one', () => {
    const s = new Supersede();
    const a = s.begin();
    const b = s.begin();
    assert.equal(a.signal.aborted, true);
    assert.ok(a.signal.reason instanceof SupersededError);
    assert.equal(b.signal.aborted, false);
  });
  test('follows the linked (LSP) cancellation', () => {
    const s = new Supersede();
    const lsp = new AbortController();
    const a = s.begin(lsp.signal);
    lsp.abort();
    assert.equal(a.signal.aborted, true);
  });
  test('cancelAll aborts the running one', () => {
    const s = new Supersede();
    const a = s.begin();
    s.cancelAll();
    assert.equal(a.signal.aborted, true);
  });
});

describe('Serial', () => {
  test('runs tasks one at a time in order, even when one fails', async () => {
    const s = new Serial();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, fail = false) => async () => {
      running++;
      assert.equal(running, 1);
      log.push(`start ${name}`);
      await delay(5);
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([s.run(task('a')), s.run(task('b', true)), s.run(task('c'))]);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });
});

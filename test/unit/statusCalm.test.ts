import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { StatusParams } from '../../server/src/protocol';
import { StatusReporter } from '../../server/src/status';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function reporter(timing = { thinkingDelayMs: 40, latencyIntervalMs: 60 }) {
  const sent: StatusParams[] = [];
  const s = new StatusReporter((p) => sent.push(p), timing);
  s.setEngine({ phase: 'ready', model: 'm' });
  s.start();
  return { s, sent, states: () => sent.map((p) => p.state) };
}

describe('StatusReporter is calm', () => {
  test('a fill shorter than the thinking delay never shows thinking', async () => {
    const { s, states } = reporter();
    for (let i = 0; i < 20; i++) {
      s.setThinking(true);
      await sleep(2);
      s.setThinking(false, 2);
    }
    await sleep(100); // the throttled latency arrives
    assert.deepEqual(states().filter((x) => x !== 'ready'), [], 'never thinking');
    assert.ok(states().length <= 3, `ready, then the latency at most twice: ${states()}`);
  });

  test('a long fill shows thinking once, then ready', async () => {
    const { s, sent, states } = reporter();
    s.setThinking(true);
    assert.equal(sent.at(-1)?.state, 'ready', 'not at once');
    await sleep(80);
    assert.equal(sent.at(-1)?.state, 'thinking');
    s.setThinking(false, 80);
    await sleep(40);
    assert.equal(sent.at(-1)?.state, 'ready');
    await sleep(100);
    assert.equal(sent.at(-1)?.lastLatencyMs, 80);
    assert.deepEqual(states().filter((x, i, a) => x !== a[i - 1]), ['ready', 'thinking', 'ready']);
  });

  test('fills back to back (typing on a slow machine) keep one steady thinking', async () => {
    const { s, states } = reporter();
    for (let i = 0; i < 6; i++) {
      s.setThinking(true);
      await sleep(50);
      s.setThinking(false, 50);
      await sleep(1); // the next keystroke's fill starts at once
    }
    await sleep(100);
    assert.deepEqual(states().filter((x, i, a) => x !== a[i - 1]), ['ready', 'thinking', 'ready']);
  });

  test('errors and state changes are never delayed', () => {
    const { s, sent } = reporter();
    s.setThinking(false, 10);
    s.setEngine({ phase: 'error', message: 'boom' });
    assert.equal(sent.at(-1)?.state, 'error');
    s.setEngine({ phase: 'loading', model: 'm' });
    assert.equal(sent.at(-1)?.state, 'loading');
    s.dispose();
  });
});

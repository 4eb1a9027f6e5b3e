import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { StatusParams } from '../../server/src/protocol';
import { StatusReporter } from '../../server/src/status';

/** No delays: every change is sent at once (the calm timing has its own tests in statusCalm.test.ts). */
const INSTANT = { thinkingDelayMs: 0, latencyIntervalMs: 0 };

describe('StatusReporter', () => {
  test('sends nothing before start, then only changes', () => {
    const sent: StatusParams[] = [];
    const s = new StatusReporter((p) => sent.push(p));
    s.setEngine({ phase: 'loading', progress: 0 });
    assert.equal(sent.length, 0);
    s.start();
    s.start();
    assert.deepEqual(sent, [{ state: 'loading', progress: 0, message: undefined, model: undefined, lastLatencyMs: undefined }]);
  });

  test('error beats loading beats disabled beats thinking beats ready', () => {
    const sent: StatusParams[] = [];
    const s = new StatusReporter((p) => sent.push(p), INSTANT);
    s.start();
    s.setEngine({ phase: 'ready', model: 'm' });
    assert.equal(sent.at(-1)?.state, 'ready');
    s.setThinking(true);
    assert.equal(sent.at(-1)?.state, 'thinking');
    s.setThinking(false, 41.6);
    assert.deepEqual(sent.at(-1), { state: 'ready', model: 'm', lastLatencyMs: 42 });
    s.setEnabled(false);
    assert.equal(sent.at(-1)?.state, 'disabled');
    s.setEngine({ phase: 'loading', model: 'm' });
    assert.equal(sent.at(-1)?.state, 'loading');
    s.setEngine({ phase: 'error', message: 'boom' });
    assert.equal(sent.at(-1)?.state, 'error');
    assert.equal(sent.at(-1)?.message, 'boom');
  });
});

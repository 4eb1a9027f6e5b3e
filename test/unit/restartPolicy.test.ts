import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { RestartPolicy } from '../../client/src/restartPolicy';

function policy() {
  let t = 1_000_000;
  const p = new RestartPolicy(4, 3 * 60_000, () => t);
  return { p, advance: (ms: number) => (t += ms) };
}

describe('RestartPolicy (server killed → restart, with a cap)', () => {
  test('restarts 4 times within 3 minutes, not a 5th time; the status bar says so', () => {
    const { p, advance } = policy();
    for (let i = 1; i <= 4; i++) {
      const d = p.onCrash();
      assert.equal(d.restart, true, `crash ${i} restarts`);
      assert.equal(d.status.state, 'loading');
      assert.match(d.status.message ?? '', new RegExp(`restart ${i} of 4 allowed within 3 min`));
      assert.deepEqual(p.statusFor('stopped'), d.status, 'Stopped while restarting shows the restart');
      assert.deepEqual(p.statusFor('starting'), d.status);
      assert.equal(p.statusFor('running'), undefined, 'running: the server reports itself');
      advance(30_000);
    }
    const last = p.onCrash();
    assert.equal(last.restart, false);
    assert.equal(last.status.state, 'error');
    assert.match(last.status.message ?? '', /5 times within 3 min and was not restarted/);
    assert.ok(p.stopped);
    assert.deepEqual(p.statusFor('stopped'), last.status);
    assert.deepEqual(p.statusFor('running'), last.status, 'the cap stays shown');
  });

  test('crashes spread over more than the window keep being restarted', () => {
    const { p, advance } = policy();
    for (let i = 0; i < 20; i++) {
      assert.equal(p.onCrash().restart, true, `crash ${i + 1}`);
      p.statusFor('running');
      advance(50_000); // at most 4 crashes in any 3 minutes
    }
  });

  test('a burst after a quiet spell counts only the recent crashes', () => {
    const { p, advance } = policy();
    for (let i = 0; i < 4; i++) p.onCrash();
    advance(3 * 60_000);
    assert.match(p.onCrash().status.message ?? '', /restart 1 of 4/);
  });

  test('without a crash: starting and a plain stop', () => {
    const { p } = policy();
    assert.deepEqual(p.statusFor('starting'), { state: 'loading', message: 'starting the language server' });
    assert.equal(p.statusFor('running'), undefined);
    assert.deepEqual(p.statusFor('stopped'), { state: 'error', message: 'the language server stopped' });
  });
});

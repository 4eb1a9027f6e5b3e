import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { InjectedOrtError, parseFaults, withFaults } from '../../server/src/faults';
import { scriptedEngine } from './engineDouble';

describe('DIFFILL_FAULT', () => {
  test('parses known faults and reports unknown ones', () => {
    assert.deepEqual(parseFaults(undefined), { faults: [], unknown: [] });
    assert.deepEqual(parseFaults('ort-once, bogus'), { faults: ['ort-once'], unknown: ['bogus'] });
  });

  test('no fault: the loader is returned as is', () => {
    const load = async () => scriptedEngine(() => 'x');
    assert.equal(withFaults(load, []), load);
  });

  test('ort-once: the first fill of each loaded engine throws, the next ones work', async () => {
    const load = withFaults(async () => scriptedEngine(() => 'ok', { name: 'm' }), ['ort-once']);
    for (let round = 0; round < 2; round++) {
      const e = await load({ modelDir: '/x' });
      await assert.rejects(e.fill({ prefix: 'a', suffix: '' }), InjectedOrtError);
      assert.equal((await e.fill({ prefix: 'a', suffix: '' })).text, 'ok');
      assert.equal(e.info.modelName, 'm', 'everything else passes through');
      e.evict('k');
      await e.dispose();
    }
  });

  test('ort-always: every fill throws', async () => {
    const e = await withFaults(async () => scriptedEngine(() => 'ok'), ['ort-always'])({ modelDir: '/x' });
    for (let i = 0; i < 3; i++) await assert.rejects(e.fill({ prefix: 'a', suffix: '' }), /ONNX Runtime/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { windows } from '../src/rewrite';
import { byteTokenizer } from './helpers';

test('refactor windows: at most B tokens, never splitting a character, covering everything', () => {
  const tok = byteTokenizer();
  const text = 'ééé x = "ünïcødé ✓✓✓"\n'.repeat(6);
  const ids = tok.encode(text);
  const ws = windows(ids, 8, (t) => tok.hasNewline[t] === 1, (t) => tok.bytes[t].length > 0 && (tok.bytes[t][0] & 0xc0) === 0x80);
  assert.deepEqual(ws.flat(), ids);
  for (const w of ws) {
    assert.ok(w.length <= 8);
    assert.ok(!tok.decode(w).includes('\ufffd'), 'each window decodes to whole characters');
  }
  assert.equal(ws.map((w) => tok.decode(w)).join(''), text);
});

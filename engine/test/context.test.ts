import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildContext } from '../src/context';
import { byteTokenizer } from './helpers';

const tok = byteTokenizer();
const limits = { maxTokens: 400, maxSuffixTokens: 60 };
const SP = tok.special;

test('layout: <suf> suffix <pre> prefix, the open line in the tail', () => {
  const c = buildContext(tok, 'a = 1\nb = ', '\nc = 3\n', limits);
  assert.equal(c.stable[0], SP.suf);
  assert.equal(tok.decode(c.stable.slice(1, 1 + c.suffixTokens)), '\nc = 3\n');
  assert.equal(c.stable[1 + c.suffixTokens], SP.pre);
  // prefix lines + open line = the prefix, with the healed token backed off
  assert.equal(tok.decode(c.stable.slice(2 + c.suffixTokens)) + tok.decodeBytes(c.heal), 'a = 1\nb = ');
});

test('typing on the current line only touches the last tokens of the cached part', () => {
  const pre = 'import os\n\ndef main():\n    x = fo';
  const a = buildContext(tok, pre, '\n', limits);
  const b = buildContext(tok, pre + 'o', '\n', limits, a.startOffset);
  let common = 0;
  while (common < a.stable.length && a.stable[common] === b.stable[common]) common++;
  assert.ok(common >= a.stable.length - 1, `common ${common} of ${a.stable.length}`);
  // a new line extends the stable part: the old one is a prefix of the new one
  const c = buildContext(tok, pre + 'o()\n    ', '\n', limits, a.startOffset);
  assert.deepEqual(c.stable.slice(0, a.stable.length), a.stable);
  assert.ok(c.stable.length > a.stable.length);
});

test('healing: no healing at a line start; the last token otherwise', () => {
  assert.equal(buildContext(tok, 'x = 1\n', '', limits).heal.length, 0);
  const c = buildContext(tok, 'x = 1\n    ret', '', limits);
  assert.equal(tok.decodeBytes(c.heal), ' ret');
  assert.ok(tok.decode(c.stable).endsWith('x = 1\n   '));
});

test('budget: long prefixes are windowed at a line start and the window is sticky', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `value_${i} = ${i} * 2\n`).join('');
  const small = { maxTokens: 300, maxSuffixTokens: 40 };
  const a = buildContext(tok, lines, 'tail\n', small);
  assert.ok(a.stable.length + a.tail.length <= small.maxTokens);
  assert.ok(a.startOffset > 0 && lines[a.startOffset - 1] === '\n');
  // typing a few more lines keeps the same window start while it still fits
  const more = lines + 'extra = 1\n';
  const b = buildContext(tok, more, 'tail\n', small, a.startOffset);
  assert.equal(b.startOffset, a.startOffset);
  assert.deepEqual(b.stable.slice(0, a.stable.length), a.stable);
});

test('suffix is cut at a whole line within its budget', () => {
  const suffix = Array.from({ length: 50 }, (_, i) => `line${i}\n`).join('');
  const c = buildContext(tok, 'x', suffix, { maxTokens: 400, maxSuffixTokens: 30 });
  assert.ok(c.suffixTokens <= 30);
  assert.ok(tok.decode(c.stable.slice(1, 1 + c.suffixTokens)).endsWith('\n'));
});

test('huge lines are cut, not encoded whole', () => {
  const long = 'x'.repeat(100_000);
  const t0 = performance.now();
  const c = buildContext(tok, long, long, limits);
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(c.stable.length + c.tail.length <= limits.maxTokens + 16);
});

test('a prefix that starts with blank lines terminates (regression: endless loop at offset 1)', () => {
  for (const p of ['\nx', '\n\n\ny = 1\nz', '\n']) {
    const c = buildContext(tok, p, '', limits);
    assert.equal(tok.decode(c.stable.slice(2)) + tok.decodeBytes(c.heal), p);
  }
});

test('property: any prefix/suffix terminates and the cached part + healed token round-trips', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = ['\n', '\n', ' ', '    ', 'x', 'ret', '(', ')', ':', 'é', '\t', '\r\n'];
  for (let i = 0; i < 300; i++) {
    const gen = () => Array.from({ length: Math.floor(rnd() * 40) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    const p = gen();
    const s = gen();
    const c = buildContext(tok, p, s, { maxTokens: 400, maxSuffixTokens: 60 });
    // bytes, not text: the healed token may be the second half of a multi-byte character
    const pre = tok.bytesOf(c.stable.slice(2 + c.suffixTokens));
    const all = new Uint8Array(pre.length + c.heal.length);
    all.set(pre);
    all.set(c.heal, pre.length);
    assert.equal(tok.decodeBytes(all), p);
  }
});

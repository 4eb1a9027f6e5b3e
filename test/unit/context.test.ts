import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { CHARS_PER_TOKEN, PREFIX_GRID, chooseMode, detectEol, extractContext } from '../../server/src/completion/context';

describe('extractContext', () => {
  test('splits at the cursor and describes the cursor line', () => {
    const text = 'def f(x):\n    return x + 1\n';
    const c = extractContext(text, text.indexOf('x + 1'), 768);
    assert.equal(c.prefix, 'def f(x):\n    return ');
    assert.equal(c.suffix, 'x + 1\n');
    assert.equal(c.linePrefix, '    return ');
    assert.equal(c.lineSuffix, 'x + 1');
    assert.equal(c.indent, '    ');
    assert.equal(c.mode, 'line');
    assert.equal(c.eol, '\n');
  });

  test('the window is bounded by the token budget and starts at a line boundary', () => {
    const line = 'x = 1234567890  # filler\n';
    const text = line.repeat(2000);
    const offset = line.length * 1000;
    const c = extractContext(text, offset, 100);
    // the prefix starts on a coarse grid (plus at most one line), the suffix is cut by the budget
    assert.ok(c.prefix.length <= 100 * CHARS_PER_TOKEN + PREFIX_GRID + line.length);
    assert.ok(c.suffix.length <= 100 * CHARS_PER_TOKEN);
    assert.ok(c.prefix.startsWith('x = '), 'prefix starts at a line start');
    assert.ok(c.suffix.endsWith('filler'), 'suffix ends at a line end');
  });

  test('typing does not move the start of the prefix window (the KV cache survives)', () => {
    const line = 'x = 1234567890  # filler\n';
    const text = line.repeat(2000);
    const offset = line.length * 1000 + 4;
    const a = extractContext(text, offset, 100);
    const b = extractContext(text.slice(0, offset) + 'abc' + text.slice(offset), offset + 3, 100);
    assert.equal(b.prefix, a.prefix + 'abc');
  });

  test('CRLF documents are fed to the model with LF and remembered as CRLF', () => {
    const text = 'a = 1\r\nb = \r\nc = 3\r\n';
    const c = extractContext(text, text.indexOf('b = ') + 4, 768);
    assert.equal(c.prefix, 'a = 1\nb = ');
    assert.equal(c.suffix, '\nc = 3\n');
    assert.equal(c.lineSuffix, '');
    assert.equal(c.eol, '\r\n');
  });

  test('offsets outside the text are clamped', () => {
    assert.equal(extractContext('abc', 99, 768).prefix, 'abc');
    assert.equal(extractContext('abc', -5, 768).suffix, 'abc');
  });
});

describe('chooseMode', () => {
  test('blank line → multiline, otherwise line', () => {
    assert.equal(chooseMode('    ', ''), 'multiline');
    assert.equal(chooseMode('', ''), 'multiline');
    assert.equal(chooseMode('    x = ', ''), 'line');
    assert.equal(chooseMode('', 'foo()'), 'line');
  });
});

describe('detectEol', () => {
  test('first line ending decides', () => {
    assert.equal(detectEol('a\r\nb\n'), '\r\n');
    assert.equal(detectEol('a\nb\r\n'), '\n');
    assert.equal(detectEol('no newline'), '\n');
  });
});

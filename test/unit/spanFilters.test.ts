import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { cutAtLineRest, cutAtSuffix, dropLinePrefixRepeat, dropPreviousLine, filterSpan } from '../../server/src/commands/spanFilters';

describe('span filters', () => {
  test('cutAtSuffix: a candidate that runs on into the following lines is cut where they begin', () => {
    const ctx = { prefix: '    ', suffix: '\n    def world_size(self) -> int:\n        return 1\n' };
    assert.equal(cutAtSuffix.apply('@property\n    def world_size(self) -> int:\n', ctx), '@property');
    assert.equal(cutAtSuffix.apply('@property\n    def world_si', ctx), '@property', 'a run-on cut short by the length cap');
    assert.equal(cutAtSuffix.apply('@property\n    def other(self):', ctx), '@property\n    def other(self):', 'a different line stays');
    assert.equal(cutAtSuffix.apply('@property\n', ctx), '@property', 'no second line break before the suffix');
  });
  test('cutAtSuffix: overlaps of a few blank or one-character runs are chance', () => {
    const ctx = { prefix: 'f(', suffix: ')\n' };
    assert.equal(cutAtSuffix.apply('a)', ctx), 'a)');
    assert.equal(cutAtSuffix.apply('x', { prefix: '', suffix: '' }), 'x');
  });
  test('cutAtLineRest: a selection ending inside a line', () => {
    const ctx = { prefix: '    if ', suffix: ':\n        return low\n' };
    assert.equal(cutAtLineRest.apply('value < low:', ctx), 'value < low');
    assert.equal(cutAtLineRest.apply('value < low', ctx), 'value < low');
    assert.equal(cutAtLineRest.apply(':', ctx), ':', 'never cut to nothing');
  });
  test('dropLinePrefixRepeat: the start of the selection line written again', () => {
    const ctx = { prefix: 'x = 1\n    return ', suffix: '\n' };
    assert.equal(dropLinePrefixRepeat.apply('return a + b', ctx), 'a + b');
    assert.equal(dropLinePrefixRepeat.apply('a + b', ctx), 'a + b');
    assert.equal(dropLinePrefixRepeat.apply('return ', ctx), 'return ', 'never to nothing');
  });
  test('dropPreviousLine: a copy of the line before the selection', () => {
    const ctx = { prefix: 'def f():\n    total = 0\n', suffix: '\n    return total\n' };
    assert.equal(dropPreviousLine.apply('    total = 0\n    for v in xs:', ctx), '    for v in xs:');
    assert.equal(dropPreviousLine.apply('    total = 0\n', ctx), '    total = 0\n', 'the copy alone stays');
    assert.equal(dropPreviousLine.apply('    count = 0', ctx), '    count = 0');
  });
  test('filterSpan: the chain', () => {
    const ctx = { prefix: '        self.destroy_group(default_group)\n', suffix: '\n        elif ready:\n            pass\n' };
    const raw = '        self.destroy_group(default_group)\n            Flag.value = False\n        elif rea';
    assert.equal(filterSpan(raw, ctx), '            Flag.value = False');
  });
});

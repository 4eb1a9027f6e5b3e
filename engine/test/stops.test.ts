import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseMode, cutMultiline } from '../src/stops';

test('auto mode: multi-line after a block opener on an empty line, else one line', () => {
  assert.equal(chooseMode('auto', 'def f(x):\n    ', '\n'), 'multiline');
  assert.equal(chooseMode('auto', 'function f() {\n  ', '\n}\n'), 'multiline');
  assert.equal(chooseMode('auto', 'x = 1\n', '\n'), 'line');
  assert.equal(chooseMode('auto', 'x = fo', '\n'), 'line');
  assert.equal(chooseMode('auto', 'def f(x):\n    ', 'return 1\n'), 'line', 'text right of the cursor: one line');
  assert.equal(chooseMode('span', 'a', 'b'), 'span');
});

test('multi-line: cut before a dedent below the block', () => {
  const r = cutMultiline('x = 1\n    return x\ndef g():\n    pass', '    ', '\n');
  assert.deepEqual(r, { text: 'x = 1\n    return x', cut: true });
});

test('multi-line: cut before a line the suffix already has', () => {
  const r = cutMultiline('a = 1\n  b = 2\n}', '  ', '\n}\n');
  assert.equal(r.text, 'a = 1\n  b = 2');
  assert.equal(r.cut, true);
});

test('multi-line: nested blocks are kept', () => {
  const t = 'for i in x:\n        if i:\n            y += i\n    return y';
  assert.deepEqual(cutMultiline(t, '    ', '\n'), { text: t, cut: false });
});

test('repetition: degenerate runs and repeated lines are cut', () => {
  const { cutRepetition } = require('../src/stops');
  assert.deepEqual(cutRepetition('self._pre_pre_pre_pre_pre_pre'), { text: 'self._pre', cut: true });
  assert.deepEqual(cutRepetition('a = 1\n    graph.graph = graph.graph\n    graph.graph = graph.graph\n'), { text: 'a = 1\n    graph.graph = graph.graph', cut: true });
  assert.deepEqual(cutRepetition('x = [1, 2, 3]\ny = 0'), { text: 'x = [1, 2, 3]\ny = 0', cut: false });
  assert.deepEqual(cutRepetition('    ]\n    ]'), { text: '    ]\n    ]', cut: false }, 'short lines may repeat');
  assert.equal(cutRepetition('# ----------------').cut, false);
  assert.equal(cutRepetition('n = 1000000').cut, false);
});

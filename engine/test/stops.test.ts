import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blankLine, chooseMode, cutMultiline, lineBelow, unsureLineCut } from '../src/stops';

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

test('unsureLineCut: the first line after the first with a token under minP ends the completion', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  // spans laid over the text: one token per piece, each with its probability
  const spansOf = (pieces: Array<[string, number]>, start = 0) => {
    let at = start;
    return pieces.map(([t, p]) => {
      const s = { start: at, end: at + enc(t).length, p };
      at = s.end;
      return s;
    });
  };
  const pieces: Array<[string, number]> = [['a = 1', 0.01], ['\n', 0.9], ['b', 0.9], [' = 2', 0.8], ['\n', 0.9], ['c', 0.1], [' = 3', 0.9]];
  const text = enc(pieces.map(([t]) => t).join(''));
  // the unsure first line stays; the cut is the line break before "c = 3"
  assert.equal(unsureLineCut(text, spansOf(pieces), 0.2), 'a = 1\nb = 2'.length);
  assert.equal(unsureLineCut(text, spansOf(pieces), 0.05), undefined, 'every later line sure enough');
  assert.equal(unsureLineCut(text, spansOf(pieces), 0), undefined, '0: off');
  assert.equal(unsureLineCut(text, spansOf(pieces), 0.85), 'a = 1'.length, 'above the second line: first line only');
  assert.equal(unsureLineCut(enc('a = 1'), spansOf([['a = 1', 0.01]]), 0.5), undefined, 'one line: nothing to cut');
  // whitespace-only lines never count, whatever their tokens
  const blank: Array<[string, number]> = [['x', 0.9], ['\n', 0.9], ['   ', 0.01], ['\n', 0.9], ['y', 0.9]];
  assert.equal(unsureLineCut(enc('x\n   \ny'), spansOf(blank), 0.5), undefined);
  // a healed first token starts before the text: its bytes before 0 belong to no line
  const healed = spansOf([['ab', 0.01], ['\n', 0.9], ['z', 0.3]], -1);
  assert.equal(unsureLineCut(enc('b\nz'), healed, 0.2), undefined);
  assert.equal(unsureLineCut(enc('b\nz'), healed, 0.5), 1);
  // a multi-byte character split over two tokens: the lower probability counts for its line
  const e = enc('x\né');
  assert.equal(unsureLineCut(e, [{ start: 0, end: 2, p: 0.9 }, { start: 2, end: 3, p: 0.9 }, { start: 3, end: 4, p: 0.1 }], 0.2), 1);
});

test('blankLine: only whitespace on the cursor line, before and after the cursor', () => {
  assert.equal(blankLine('def f():\n', '\n    return 1\n'), true);
  assert.equal(blankLine('def f():\n    ', '\n'), true);
  assert.equal(blankLine('x = 1\n  ', '  \ny = 2'), true);
  assert.equal(blankLine('', ''), true);
  assert.equal(blankLine('x = ', '\n'), false);
  assert.equal(blankLine('x = 1\n', 'y = 2\n'), false);
  assert.equal(blankLine('x = 1\n\t', '  ) \n'), false);
});

test('lineBelow: the rest of the cursor line and the next non-blank line, trailing whitespace cut', () => {
  assert.deepEqual(lineBelow('\n    return x  \n'), { rest: '', next: '    return x' });
  assert.deepEqual(lineBelow(')\n\n  \n}\n'), { rest: ')', next: '}' });
  assert.deepEqual(lineBelow('\n\n\t\n'), undefined);
  assert.deepEqual(lineBelow('no newline'), undefined);
  assert.deepEqual(lineBelow('\n\nlast'), { rest: '', next: 'last' });
});

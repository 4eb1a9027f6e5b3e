import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { TypedAhead } from '../../server/src/completion/typedAhead';

const URI = 'file:///a.py';

describe('TypedAhead', () => {
  const before = 'def f(x):\n    return ';
  const after = '\n\nprint(f(1))\n';
  const doc = (typed: string): string => before + typed + after;

  test('serves the rest while the user types the ghost text', () => {
    const t = new TypedAhead();
    t.remember(URI, doc(''), before.length, 'x * 2 + 1');
    assert.equal(t.lookup(URI, doc('x'), before.length + 1), ' * 2 + 1');
    assert.equal(t.lookup(URI, doc('x * 2'), before.length + 5), ' + 1');
    // backspace keeps working: the anchor stays
    assert.equal(t.lookup(URI, doc('x *'), before.length + 3), ' 2 + 1');
  });

  test('a different character ends the reuse', () => {
    const t = new TypedAhead();
    t.remember(URI, doc(''), before.length, 'x * 2');
    assert.equal(t.lookup(URI, doc('y'), before.length + 1), undefined);
  });

  test('typing the whole completion, or nothing, is not a hit', () => {
    const t = new TypedAhead();
    t.remember(URI, doc(''), before.length, 'x');
    assert.equal(t.lookup(URI, doc('x'), before.length + 1), undefined);
    assert.equal(t.lookup(URI, doc(''), before.length), undefined);
  });

  test('an edit elsewhere near the cursor, or another document, is not a hit', () => {
    const t = new TypedAhead();
    t.remember(URI, doc(''), before.length, 'x * 2');
    const edited = before + 'x' + '\n\nprint(f(2))\n';
    assert.equal(t.lookup(URI, edited, before.length + 1), undefined);
    assert.equal(t.lookup('file:///b.py', doc('x'), before.length + 1), undefined);
  });

  test('clear forgets', () => {
    const t = new TypedAhead();
    t.remember(URI, doc(''), before.length, 'x * 2');
    t.clear(URI);
    assert.equal(t.lookup(URI, doc('x'), before.length + 1), undefined);
  });
});

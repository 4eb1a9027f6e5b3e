import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { offsetAtLineCol, offsetOf } from '../../server/src/documents';

describe('offsetOf', () => {
  const doc = TextDocument.create('file:///a.py', 'python', 1, 'ab\r\ncde\n');
  test('positions inside the document', () => {
    assert.equal(offsetOf(doc, { line: 0, character: 2 }), 2);
    assert.equal(offsetOf(doc, { line: 1, character: 3 }), 7);
    assert.equal(offsetOf(doc, { line: 2, character: 0 }), 8);
  });
  test('positions outside or malformed → undefined', () => {
    assert.equal(offsetOf(doc, { line: 0, character: 3 }), undefined, 'past the end of the line (the CR)');
    assert.equal(offsetOf(doc, { line: 3, character: 0 }), undefined);
    assert.equal(offsetOf(doc, { line: -1, character: 0 }), undefined);
    assert.equal(offsetOf(doc, { line: 0.5, character: 0 }), undefined);
    assert.equal(offsetOf(doc, { line: '0', character: 0 }), undefined);
    assert.equal(offsetOf(doc, null), undefined);
  });
});

describe('offsetAtLineCol', () => {
  test('1-based line and column', () => {
    const text = 'ab\r\ncde\n';
    assert.equal(offsetAtLineCol(text, 1, 1), 0);
    assert.equal(offsetAtLineCol(text, 1, 3), 2);
    assert.equal(offsetAtLineCol(text, 2, 4), 7);
    assert.equal(offsetAtLineCol(text, 3, 1), 8);
    assert.equal(offsetAtLineCol(text, 1, 4), undefined);
    assert.equal(offsetAtLineCol(text, 4, 1), undefined);
    assert.equal(offsetAtLineCol(text, 0, 1), undefined);
  });
});

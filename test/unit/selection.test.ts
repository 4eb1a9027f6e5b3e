import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Engine, InfillRequest, RefactorRequest, RefactorResult } from '../../engine/src/types';
import { infillSpan } from '../../server/src/commands/infillSpan';
import { refactorSpan } from '../../server/src/commands/refactor';
import {
  Normalized,
  SelectionError,
  applyEdits,
  checkSelection,
  confidenceSpans,
  minimalEdit,
  splitAtSelection,
  toDocumentEol,
} from '../../server/src/commands/selection';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof SelectionError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('checkSelection', () => {
  test('refuses empty documents, NUL bytes, more than 5,000 lines, empty refactor selections', () => {
    assert.equal(reasonOf(() => checkSelection('', 0, 0, { requireText: false })), 'empty-document');
    assert.equal(reasonOf(() => checkSelection(' \n\t\n', 0, 2, { requireText: false })), 'empty-document');
    assert.equal(reasonOf(() => checkSelection('a\0b', 0, 1, { requireText: false })), 'binary');
    const big = 'x = 1\n'.repeat(6000);
    assert.equal(reasonOf(() => checkSelection(big, 0, big.length, { requireText: false })), 'too-many-lines');
    assert.equal(reasonOf(() => checkSelection('a\n  \nb', 2, 4, { requireText: true })), 'empty-selection');
  });
  test('accepts a cursor for infill, exactly 5,000 lines, CRLF text', () => {
    assert.equal(reasonOf(() => checkSelection('def f():\n    pass\n', 9, 9, { requireText: false })), undefined);
    const lines = 'x = 1\r\n'.repeat(5000);
    assert.equal(reasonOf(() => checkSelection(lines, 0, lines.length - 2, { requireText: true })), undefined);
  });
});

describe('Normalized', () => {
  test('CRLF → LF, offsets map back (a line break maps before its CR)', () => {
    const n = new Normalized('a\r\nbc\r\n\r\nd');
    assert.equal(n.text, 'a\nbc\n\nd');
    const expect = [0, 1, 3, 4, 5, 7, 9, 10];
    for (let i = 0; i <= n.text.length; i++) assert.equal(n.toOriginal(i), expect[i], `offset ${i}`);
  });
  test('LF text is the identity', () => {
    const n = new Normalized('a\nb');
    assert.equal(n.text, 'a\nb');
    for (let i = 0; i <= 3; i++) assert.equal(n.toOriginal(i), i);
  });
  test('property: every normalised slice maps back to the same text with CRLF restored', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '\n', '\r\n', ' ', 'é', '😀')), fc.nat(), fc.nat(), (pieces, x, y) => {
        const original = pieces.join('');
        const n = new Normalized(original);
        const a = Math.min(x, y) % (n.text.length + 1);
        const b = Math.max(a, Math.max(x, y) % (n.text.length + 1));
        const back = original.slice(n.toOriginal(a), n.toOriginal(b));
        assert.equal(back.replace(/\r\n/g, '\n'), n.text.slice(a, b));
      }),
    );
  });
  test('toDocumentEol', () => {
    assert.equal(toDocumentEol('a\nb\n', '\r\n'), 'a\r\nb\r\n');
    assert.equal(toDocumentEol('a\r\nb\n', '\r\n'), 'a\r\nb\r\n');
    assert.equal(toDocumentEol('a\nb', '\n'), 'a\nb');
  });
});

describe('splitAtSelection', () => {
  test('prefix, selection and suffix in LF; windows cut at line boundaries', () => {
    const text = 'one\r\ntwo\r\nthree\r\nfour\r\n';
    const start = text.indexOf('two');
    const end = text.indexOf('three') + 5;
    const p = splitAtSelection(text, start, end, 1000);
    assert.deepEqual([p.prefix, p.selection.text, p.suffix, p.eol], ['one\n', 'two\nthree', '\nfour\n', '\r\n']);
    const w = splitAtSelection(text, start, end, 3);
    assert.equal(w.prefix, '');
    assert.equal(w.suffix, '\n');
  });
});

describe('minimalEdit / applyEdits', () => {
  test('the smallest single edit', () => {
    assert.deepEqual(minimalEdit('if a == b:', 'if a != b:'), { start: 5, end: 6, newText: '!' });
    assert.equal(minimalEdit('same', 'same'), undefined);
    assert.deepEqual(minimalEdit('abc', 'abXbc'), { start: 2, end: 2, newText: 'Xb' });
  });
  test('never splits a surrogate pair or a CRLF', () => {
    const e = minimalEdit('x😀y', 'x😃y')!;
    assert.deepEqual([e.start, e.end], [1, 3]);
    const c = minimalEdit('a\r\nb', 'a\nb')!;
    assert.ok(c.start <= 1 && c.end >= 3, JSON.stringify(c));
  });
  test('property: applying the edit gives the new text, and the edit lies inside the old one', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const e = minimalEdit(a, b);
        if (!e) return assert.equal(a, b);
        assert.ok(0 <= e.start && e.start <= e.end && e.end <= a.length);
        assert.equal(applyEdits(a, [e]), b);
      }),
    );
  });
});

describe('confidenceSpans', () => {
  test('tokens are laid onto the text: LF offsets become document offsets (CRLF)', () => {
    const sel = new Normalized('a\r\nb');
    const spans = confidenceSpans(
      [
        { text: 'a', p: 0.9 },
        { text: '\n', p: 0.5 },
        { text: 'b', p: 0.01 },
      ],
      sel,
      10,
    );
    assert.deepEqual(spans, [
      { start: 10, end: 11, p: 0.9 },
      { start: 11, end: 13, p: 0.5 },
      { start: 13, end: 14, p: 0.01 },
    ]);
  });
  test('a character split across tokens (U+FFFD parts) gets one span with the lowest p; later offsets stay right', () => {
    const sel = new Normalized('x = "你😀" + y');
    const spans = confidenceSpans(
      [
        { text: 'x', p: 0.9 },
        { text: ' =', p: 0.8 },
        { text: ' "', p: 0.7 },
        { text: '你\uFFFD', p: 0.3 },
        { text: '\uFFFD', p: 0.2 },
        { text: '"', p: 0.6 },
        { text: ' +', p: 0.04 },
        { text: ' y', p: 0.5 },
      ],
      sel,
      0,
    );
    const text = sel.text;
    assert.deepEqual(
      spans.map((s) => [text.slice(s.start, s.end), s.p]),
      [['x', 0.9], [' =', 0.8], [' "', 0.7], ['你😀', 0.2], ['"', 0.6], [' +', 0.04], [' y', 0.5]],
    );
  });
  test('tokens that match nothing end the list instead of tinting the wrong text', () => {
    const spans = confidenceSpans([{ text: 'a', p: 1 }, { text: 'zzz', p: 0 }, { text: 'q', p: 0 }], new Normalized('abc'), 0);
    assert.deepEqual(spans, [{ start: 0, end: 1, p: 1 }]);
  });
});

/** An engine that answers infill and refactor from functions (the real one is in the protocol tests). */
function fakeEngine(opts: { infill?: (r: InfillRequest) => string[]; refactor?: (r: RefactorRequest) => string }): Engine & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    seen,
    info: { modelName: 'fake', modelDir: '/', params: 0, blockSize: 32, loadMs: 0, threads: 1, executionProvider: 'none' },
    fill: () => Promise.reject(new Error('not here')),
    async infill(r) {
      seen.push(r);
      return { candidates: (opts.infill?.(r) ?? []).map((text, i) => ({ text, score: -i, method: 'fake', tokens: [] })), forwards: 1, ms: 1, truncated: false };
    },
    async refactor(r): Promise<RefactorResult> {
      seen.push(r);
      if (r.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const text = opts.refactor?.(r) ?? r.selection;
      // one "token" per character, as the confidence view needs offsets
      const original = [...r.selection].map((ch, i) => ({ text: ch, p: ch === '>' ? 0.01 : 0.9, start: i, end: i + 1 }));
      return { text, changed: text !== r.selection, original, rounds: 1, forwards: 2, ms: 1, truncated: false };
    },
    evict() {},
    async dispose() {},
  };
}

describe('infillSpan / refactorSpan on a scripted engine', () => {
  const doc = 'def f(a, b):\r\n    if a > b:\r\n        return a\r\n    return b\r\n';
  const start = doc.indexOf('if');
  const end = doc.indexOf('return a') + 'return a'.length;
  const job = { text: doc, start, end, budgetMs: 1000, windowChars: 4096 };

  test('infill: the engine sees LF; candidates come back in CRLF and replace exactly the range', async () => {
    const e = fakeEngine({ infill: () => ['if a >= b:\n        return a'] });
    const out = await infillSpan(e, job);
    const req = e.seen[0] as InfillRequest;
    assert.equal(req.prefix, 'def f(a, b):\n    ');
    assert.equal(req.suffix, '\n    return b\n');
    assert.equal(out.candidates[0].text, 'if a >= b:\r\n        return a');
    const rebuilt = doc.slice(0, start) + out.candidates[0].text + doc.slice(end);
    assert.equal(rebuilt, doc.replace('a > b', 'a >= b'));
  });

  test('refactor: one edit inside the selection, CRLF kept, confidence in document offsets', async () => {
    const e = fakeEngine({ refactor: (r) => r.selection.replace('>', '<') });
    const out = await refactorSpan(e, job);
    assert.equal(out.changed, true);
    assert.equal(out.edits.length, 1);
    const [ed] = out.edits;
    assert.ok(start <= ed.start && ed.end <= end, 'confined');
    assert.equal(applyEdits(doc, out.edits), doc.replace('a > b', 'a < b'));
    assert.equal(out.newText, doc.slice(start, end).replace('>', '<'));
    const low = out.confidence.filter((c) => c.p < 0.1);
    assert.deepEqual(low.map((c) => doc.slice(c.start, c.end)), ['>']);
    const joined = out.confidence.map((c) => doc.slice(c.start, c.end)).join('');
    assert.equal(joined, doc.slice(start, end), 'the tokens tile the selection, CRs included');
  });

  test('refactor: a multi-line change keeps the document line endings', async () => {
    const e = fakeEngine({ refactor: (r) => r.selection.replace('return a', 'x = a\n        return x') });
    const out = await refactorSpan(e, job);
    assert.equal(applyEdits(doc, out.edits), doc.replace('return a', 'x = a\r\n        return x'));
  });

  test('refactor: unchanged → no edits; scoreOnly asks the engine for a score pass only', async () => {
    const e = fakeEngine({});
    const out = await refactorSpan(e, { ...job, scoreOnly: true });
    assert.deepEqual(out.edits, []);
    assert.equal(out.changed, false);
    assert.equal(out.newText, doc.slice(start, end));
    assert.equal((e.seen[0] as RefactorRequest).threshold, 0);
  });

  test('refactor: a rewrite that would write undecodable bytes (U+FFFD) is dropped', async () => {
    const e = fakeEngine({ refactor: (r) => r.selection.replace('>', '\uFFFD') });
    const out = await refactorSpan(e, job);
    assert.equal(out.changed, false);
    assert.deepEqual(out.edits, []);
  });

  test('bad selections throw SelectionError before the engine runs', async () => {
    const e = fakeEngine({});
    await assert.rejects(refactorSpan(e, { ...job, text: 'a\0b', start: 0, end: 1 }), (err: SelectionError) => err.reason === 'binary');
    await assert.rejects(refactorSpan(e, { ...job, start: 0, end: 0 }), (err: SelectionError) => err.reason === 'empty-selection');
    await assert.rejects(infillSpan(e, { ...job, text: '', start: 0, end: 0 }), (err: SelectionError) => err.reason === 'empty-document');
    assert.equal(e.seen.length, 0);
  });
});

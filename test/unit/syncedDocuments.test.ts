import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { SyncedDocuments, invalidChanges } from '../../server/src/documents';

/** Drives SyncedDocuments' handlers the way `listen(connection)` does, without a connection. */
function harness() {
  const warnings: string[] = [];
  const docs = new SyncedDocuments((m) => warnings.push(m));
  const handlers: Record<string, (p: any) => void> = {};
  const fake = new Proxy({} as any, {
    get: (_t, name: string) => (h: (p: any) => void) => {
      handlers[name] = h;
      return { dispose() {} };
    },
  });
  docs.listen(fake);
  return {
    docs,
    warnings,
    open: (uri: string, text: unknown) => handlers.onDidOpenTextDocument({ textDocument: { uri, languageId: 'python', version: 1, text } }),
    change: (uri: string, version: number, contentChanges: unknown) => handlers.onDidChangeTextDocument({ textDocument: { uri, version }, contentChanges }),
    close: (uri: string) => handlers.onDidCloseTextDocument({ textDocument: { uri } }),
  };
}

const at = (line: unknown, character: unknown) => ({ line, character });

describe('SyncedDocuments', () => {
  test('valid edits apply', () => {
    const h = harness();
    h.open('file:///a.py', 'x = 1\n');
    h.change('file:///a.py', 2, [{ range: { start: at(0, 5), end: at(0, 5) }, text: '0' }, { text: 'y = 2\n' }]);
    assert.equal(h.docs.get('file:///a.py')?.getText(), 'y = 2\n');
    assert.equal(h.docs.get('file:///a.py')?.version, 2);
    // Out-of-range but well-formed positions are clamped by the library, as LSP says.
    h.change('file:///a.py', 3, [{ range: { start: at(99, 0), end: at(99, 99) }, text: 'z' }]);
    assert.equal(h.docs.get('file:///a.py')?.getText(), 'y = 2\nz');
    assert.deepEqual(h.warnings, []);
  });

  test('a range the library would loop forever on is refused; the document is set aside until reopened', () => {
    const h = harness();
    h.open('file:///b.py', 'import os\n');
    const t0 = performance.now();
    h.change('file:///b.py', 2, [{ range: { start: at('', 2 ** 31), end: at(4, 1) }, text: 'x' }]); // found by the fuzz
    assert.ok(performance.now() - t0 < 100);
    assert.equal(h.docs.get('file:///b.py'), undefined, 'no completions on a desynchronized document');
    assert.match(h.warnings[0], /refused/);
    h.change('file:///b.py', 3, [{ text: 'later edits are ignored too' }]);
    assert.equal(h.docs.get('file:///b.py'), undefined);
    h.open('file:///b.py', 'fresh\n');
    assert.equal(h.docs.get('file:///b.py')?.getText(), 'fresh\n');
    h.change('file:///b.py', 2, [{ range: { start: at(0, 0.5), end: at(0, 1) }, text: 'x' }]);
    h.close('file:///b.py');
    h.open('file:///b.py', 'again\n');
    assert.equal(h.docs.get('file:///b.py')?.getText(), 'again\n', 'closing forgets the refusal');
  });

  test('didOpen without text is set aside', () => {
    const h = harness();
    h.open('file:///c.py', 42);
    assert.equal(h.docs.get('file:///c.py'), undefined);
    assert.equal(h.warnings.length, 1);
  });

  test('invalidChanges names what is wrong', () => {
    assert.equal(invalidChanges([{ text: 'x' }]), undefined);
    assert.equal(invalidChanges([{ range: { start: at(0, 0), end: at(1, 2) }, text: '' }]), undefined);
    assert.match(invalidChanges(null) ?? '', /not an array/);
    assert.match(invalidChanges([{ text: 3 }]) ?? '', /without text/);
    for (const bad of [at(-1, 0), at(0, -1), at(0.5, 0), at(null, 0), at('1', 0), at(2 ** 40, 0), at(NaN, 0), null, 'x']) {
      assert.ok(invalidChanges([{ range: { start: bad, end: at(0, 0) }, text: '' }]), JSON.stringify(bad));
    }
  });
});

/**
 * Protocol tests of the selection requests (diffill/infillSpan, diffill/refactor) on the bundled
 * server and the real model: the answers fit the document, edits stay inside the selection,
 * cancellation answers RequestCancelled and changes nothing, bad selections are refused clearly
 * and the server keeps serving. Without a model under models/ they skip and say why.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  DEFAULT_SETTINGS,
  type DiffillSettings,
  type InfillSpanParams,
  type InfillSpanResult,
  InfillSpanRequestMethod,
  type LspRange,
  type RefactorParams,
  type RefactorResult,
  RefactorRequestMethod,
  type StatusParams,
} from '../../server/src/protocol';
import { LspClient, RpcResponseError } from './lspClient';
import { OTHER_MODEL, ROOT, SERVER, noModel, noServer } from './session';

if (noServer) console.log(`# selection command tests skipped: ${noServer}`);
else if (noModel) console.log(`# selection command tests on the real model skipped: ${noModel}`);

/** Commands get latencyBudgetMs × commandTimeoutFactor = 5 s here: enough for candidates on 2 busy cores. */
const SETTINGS: DiffillSettings = {
  ...DEFAULT_SETTINGS,
  latencyBudgetMs: 500,
  commandTimeoutFactor: 10,
  modelPath: OTHER_MODEL ?? '',
};
const REQUEST_CANCELLED = -32800;
const CONTENT_MODIFIED = -32801;
const INVALID_PARAMS = -32602;

const SOURCE = `def clamp(value, low, high):
    """Keep value between low and high."""
    if value < low:
        return low
    if value > high:
        return high
    return value


def mean(values):
    total = 0
    for v in values:
        total += v
    return total / len(values)
`;

function open(c: LspClient, uri: string, text: string, version = 1, languageId = 'python'): void {
  c.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
}

/** The range of the first occurrence of `needle` in `text`. */
function rangeOfText(text: string, needle: string): LspRange {
  const doc = TextDocument.create('file:///x', 'python', 1, text);
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${JSON.stringify(needle)} is in the text`);
  return { start: doc.positionAt(at), end: doc.positionAt(at + needle.length) };
}

function applied(text: string, edits: Array<{ range: LspRange; newText: string }>): string {
  return TextDocument.applyEdits(TextDocument.create('file:///x', 'python', 1, text), edits);
}

function before_(a: LspRange['start'], b: LspRange['start']): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

function inside(inner: LspRange, outer: LspRange): boolean {
  return before_(outer.start, inner.start) && before_(inner.end, outer.end) && before_(inner.start, inner.end);
}

async function errorOf(p: Promise<unknown>): Promise<RpcResponseError> {
  const got = await p.then(
    (v) => v,
    (e) => e,
  );
  assert.ok(got instanceof RpcResponseError, `an error answer, got ${JSON.stringify(got)}`);
  return got;
}

function infill(c: LspClient, params: InfillSpanParams) {
  return c.send<InfillSpanResult>(InfillSpanRequestMethod, params, 60_000);
}

function refactor(c: LspClient, params: RefactorParams) {
  return c.send<RefactorResult>(RefactorRequestMethod, params, 60_000);
}

describe('selection commands while the model cannot load', { skip: noServer, timeout: 60_000 }, () => {
  let c: LspClient;
  before(async () => {
    c = LspClient.spawn(SERVER);
    await c.initialize({ settings: { ...SETTINGS, modelPath: path.join(ROOT, 'no', 'such', 'model') } });
    await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'error');
  });
  after(() => c.kill());

  test('answer a clear "no-model" error and keep serving', async () => {
    const uri = 'file:///work/nomodel.py';
    open(c, uri, SOURCE);
    const range = rangeOfText(SOURCE, 'value < low');
    const e = await errorOf(infill(c, { textDocument: { uri }, range }).result);
    assert.deepEqual(e.error.data, { reason: 'no-model' });
    assert.match(e.error.message, /model did not load/);
    const r = await errorOf(refactor(c, { textDocument: { uri }, range }).result);
    assert.deepEqual(r.error.data, { reason: 'no-model' });
    assert.equal(await c.shutdownAndExit(), 0);
  });
});

describe('selection commands on the real model', { skip: noServer || noModel, timeout: 300_000 }, () => {
  let c: LspClient;

  before(async () => {
    c = LspClient.spawn(SERVER);
    await c.initialize({ settings: SETTINGS });
    const n = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', 120_000);
    assert.equal((n.params as StatusParams).state, 'ready', `model loaded; stderr:\n${c.stderr}`);
  });
  after(() => c.kill());

  test('infillSpan: candidates that replace exactly the range give prefix + candidate + suffix', async () => {
    const uri = 'file:///work/clamp.py';
    open(c, uri, SOURCE);
    const needle = 'value > high';
    const range = rangeOfText(SOURCE, needle);
    const res = await infill(c, { textDocument: { uri, version: 1 }, range, candidates: 3 }).result;
    assert.ok(Array.isArray(res.candidates), JSON.stringify(res));
    assert.ok(res.candidates.length >= 1, `at least one candidate in ${res.ms.toFixed(0)} ms: ${JSON.stringify(res)}`);
    assert.ok(res.candidates.length <= 3);
    assert.equal(res.version, 1);
    assert.equal(typeof res.truncated, 'boolean');
    for (let i = 1; i < res.candidates.length; i++) assert.ok(res.candidates[i - 1].score >= res.candidates[i].score, 'best first');
    const at = SOURCE.indexOf(needle);
    for (const cand of res.candidates) {
      assert.equal(typeof cand.text, 'string');
      const rebuilt = applied(SOURCE, [{ range, newText: cand.text }]);
      assert.equal(rebuilt, SOURCE.slice(0, at) + cand.text + SOURCE.slice(at + needle.length));
    }
  });

  test('infillSpan at a cursor (empty range) in an untitled CRLF document: CRLF candidates', async () => {
    const uri = 'untitled:Untitled-1';
    const text = SOURCE.replace(/\n/g, '\r\n');
    open(c, uri, text, 1, 'python');
    const at = text.indexOf('    return total');
    const doc = TextDocument.create(uri, 'python', 1, text);
    const pos = doc.positionAt(at);
    const res = await infill(c, { textDocument: { uri }, range: { start: pos, end: pos }, candidates: 2 }).result;
    for (const cand of res.candidates) assert.ok(!/(^|[^\r])\n/.test(cand.text), `no bare LF in ${JSON.stringify(cand.text)}`);
  });

  test('refactor: edits inside the selection; applied they give newText; confidence tiles the selection', async () => {
    const uri = 'file:///work/mean.py';
    const buggy = SOURCE.replace('total += v', 'total -= v');
    open(c, uri, buggy);
    const needle = '    for v in values:\n        total -= v\n    return total / len(values)';
    const range = rangeOfText(buggy, needle);
    const res = await refactor(c, { textDocument: { uri, version: 1 }, range }).result;
    assert.equal(res.version, 1);
    assert.equal(res.changed, res.edits.length > 0);
    for (const e of res.edits) assert.ok(inside(e.range, range), `edit ${JSON.stringify(e.range)} inside ${JSON.stringify(range)}`);
    const at = buggy.indexOf(needle);
    assert.equal(applied(buggy, res.edits), buggy.slice(0, at) + res.newText + buggy.slice(at + needle.length));
    if (!res.changed) assert.equal(res.newText, needle);
    assert.ok(res.confidence.length > 0, 'per-token confidence');
    for (const t of res.confidence) {
      assert.ok(inside(t.range, range), `token ${JSON.stringify(t.range)} inside the selection`);
      assert.ok(t.p >= 0 && t.p <= 1, `p = ${t.p}`);
    }
    const doc = TextDocument.create(uri, 'python', 1, buggy);
    const tiled = res.confidence.map((t) => doc.getText(t.range)).join('');
    assert.equal(tiled, needle, 'the tokens cover the selection in order');
  });

  test('refactor scoreOnly (the confidence view): no edits, the confidence only', async () => {
    const uri = 'file:///work/mean.py';
    const range = rangeOfText(SOURCE.replace('total += v', 'total -= v'), 'total -= v');
    const res = await refactor(c, { textDocument: { uri }, range, scoreOnly: true }).result;
    assert.deepEqual(res.edits, []);
    assert.equal(res.changed, false);
    assert.equal(res.newText, 'total -= v');
    assert.ok(res.confidence.length >= 3);
  });

  test('a request over 300 ms reports work-done progress on the client token, begin then end', async () => {
    const uri = 'file:///work/clamp.py';
    const token = 'diffill-test-progress';
    const mark = c.notifications.length;
    const range = rangeOfText(SOURCE, 'if value < low:\n        return low');
    const res = await infill(c, { textDocument: { uri }, range, candidates: 4, workDoneToken: token }).result;
    const kinds = c.notifications
      .slice(mark)
      .filter((n) => n.method === '$/progress' && (n.params as { token: unknown }).token === token)
      .map((n) => (n.params as { value: { kind: string } }).value.kind);
    if (res.ms > 600) {
      assert.equal(kinds[0], 'begin', `progress kinds: ${kinds.join(',')}`);
      assert.equal(kinds.at(-1), 'end');
    } else {
      assert.ok(kinds.length === 0 || kinds.at(-1) === 'end', `no dangling progress: ${kinds.join(',')}`);
    }
  });

  test('$/cancelRequest: RequestCancelled, nothing changed, the server goes on', async () => {
    const uri = 'file:///work/cancel.py';
    open(c, uri, SOURCE);
    const range = rangeOfText(SOURCE, 'def mean(values):\n    total = 0\n    for v in values:\n        total += v');
    const requestsBefore = c.serverRequests.filter((r) => r.method === 'workspace/applyEdit').length;
    // a long infill keeps the engine busy; the refactor behind it is cancelled at once, then the infill
    const busy = infill(c, { textDocument: { uri, version: 1 }, range, candidates: 8 });
    const pending = refactor(c, { textDocument: { uri, version: 1 }, range });
    c.cancel(pending.id);
    setTimeout(() => c.cancel(busy.id), 200);
    const [e1, e2] = await Promise.all([errorOf(pending.result), errorOf(busy.result)]);
    assert.equal(e1.error.code, REQUEST_CANCELLED, e1.message);
    assert.equal(e2.error.code, REQUEST_CANCELLED, e2.message);
    assert.equal(c.serverRequests.filter((r) => r.method === 'workspace/applyEdit').length, requestsBefore, 'the server never edits');
    // the document is still version 1 with its text: a scoring request for version 1 is answered
    const res = await refactor(c, { textDocument: { uri, version: 1 }, range, scoreOnly: true }).result;
    const doc = TextDocument.create(uri, 'python', 1, SOURCE);
    assert.equal(res.confidence.map((t) => doc.getText(t.range)).join(''), doc.getText(range));
    assert.ok(c.alive);
  });

  test('bad selections get clear errors; the server keeps serving', async () => {
    const expectReason = async (p: Promise<unknown>, reason: string, code = INVALID_PARAMS): Promise<void> => {
      const e = await errorOf(p);
      assert.deepEqual(e.error.data, { reason }, e.message);
      assert.equal(e.error.code, code, e.message);
      assert.ok(e.error.message.length > 10, 'a message a user can read');
    };
    const z = { line: 0, character: 0 };
    open(c, 'file:///work/empty.py', '');
    await expectReason(infill(c, { textDocument: { uri: 'file:///work/empty.py' }, range: { start: z, end: z } }).result, 'empty-document');

    const big = 'x = 1\n'.repeat(5200);
    open(c, 'file:///work/big.py', big);
    await expectReason(refactor(c, { textDocument: { uri: 'file:///work/big.py' }, range: { start: z, end: { line: 5100, character: 0 } } }).result, 'too-many-lines');

    open(c, 'file:///work/binary.py', 'x = 1\n\0\0\0\ny = 2\n');
    await expectReason(infill(c, { textDocument: { uri: 'file:///work/binary.py' }, range: { start: z, end: { line: 0, character: 5 } } }).result, 'binary');

    await expectReason(infill(c, { textDocument: { uri: 'file:///work/never-opened.py' }, range: { start: z, end: z } }).result, 'no-document');
    await expectReason(refactor(c, { textDocument: { uri: 'file:///work/clamp.py' }, range: { start: z, end: { line: 999, character: 0 } } }).result, 'bad-range');
    await expectReason(refactor(c, { textDocument: { uri: 'file:///work/clamp.py' }, range: { start: z, end: z } }).result, 'empty-selection');
    await expectReason(
      refactor(c, { textDocument: { uri: 'file:///work/clamp.py', version: 7 }, range: rangeOfText(SOURCE, 'return value') }).result,
      'outdated',
      CONTENT_MODIFIED,
    );
    const malformed = await errorOf(c.request(RefactorRequestMethod, { nonsense: true }));
    assert.ok(malformed.error.code !== undefined);

    assert.ok(c.alive);
    const ok = await refactor(c, { textDocument: { uri: 'file:///work/clamp.py' }, range: rangeOfText(SOURCE, 'return value'), scoreOnly: true }).result;
    assert.ok(ok.confidence.length > 0, 'a valid request still gets an answer');
  });

  test('a selection the engine cannot finish in time: a partial rewrite or "timeout", within the hard limit; the server goes on', async () => {
    const uri = 'file:///work/long.py';
    const long = 'def f(values, offset):\n' + Array.from({ length: 300 }, (_, i) => `    total_${i} = compute(values[${i}], ${i}) + offset\n`).join('');
    open(c, uri, long);
    // budget 100 ms × 1: the engine stops at its deadline (the rest of the selection stays as it was);
    // the server's hard limit (2 × 100 + 1000 ms) answers "timeout" if it does not
    c.notify('workspace/didChangeConfiguration', { settings: { diffill: { ...SETTINGS, latencyBudgetMs: 100, commandTimeoutFactor: 1 } } });
    const t0 = performance.now();
    const range = { start: { line: 1, character: 0 }, end: { line: 300, character: 0 } };
    const answer = await refactor(c, { textDocument: { uri }, range }).result.then(
      (r) => ({ ok: r }),
      (e) => ({ err: e }),
    );
    const ms = performance.now() - t0;
    c.notify('workspace/didChangeConfiguration', { settings: { diffill: SETTINGS } });
    if ('err' in answer) {
      const e = answer.err as { error: { data: unknown; message: string } };
      assert.deepEqual(e.error.data, { reason: 'timeout' }, e.error.message);
      assert.match(e.error.message, /commandTimeoutFactor/);
    } else {
      assert.equal(answer.ok.truncated, true, 'a partial rewrite says so');
      for (const ed of answer.ok.edits) {
        assert.ok(ed.range.start.line >= range.start.line && ed.range.end.line <= range.end.line, 'edits stay in the selection');
      }
    }
    assert.ok(ms < 10_000, `answered in ${ms.toFixed(0)} ms`);
    const ok = await refactor(c, { textDocument: { uri: 'file:///work/clamp.py' }, range: rangeOfText(SOURCE, 'return value'), scoreOnly: true }).result;
    assert.ok(ok.confidence.length > 0);
  });

  test('shutdown and exit: code 0', async () => {
    assert.equal(await c.shutdownAndExit(), 0);
  });
});

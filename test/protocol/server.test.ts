/**
 * Protocol tests: the bundled server (`node dist/server.js --stdio`) spoken to over stdio, on the
 * real engine and the real shipped model. Without a model under models/ they skip and say why.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SETTINGS, type DiffillSettings, type StatusParams } from '../../server/src/protocol';
import { LspClient, RpcResponseError } from './lspClient';
import { OTHER_MODEL, ROOT, SERVER, noModel, noServer } from './session';

if (noServer) console.log(`# protocol tests skipped: ${noServer}`);
else if (noModel) console.log(`# protocol tests on the real model skipped: ${noModel}`);

/** Generous budget: these tests check the protocol, not the latency, on a slow shared machine. */
const SETTINGS: DiffillSettings = { ...DEFAULT_SETTINGS, latencyBudgetMs: 2000, debounceMs: 25, modelPath: OTHER_MODEL ?? '' };
const REQUEST_CANCELLED = -32800;

const FIB = `import math


def area_of_circle(radius):
    return math.pi * radius ** 2


def fibonacci(n):
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    return 
`;

interface Item {
  insertText: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
}

function open(c: LspClient, uri: string, text: string, version = 1, languageId = 'python'): void {
  c.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
}

function inline(c: LspClient, uri: string, line: number, character: number) {
  return c.send<Item[] | { items: Item[] } | null>('textDocument/inlineCompletion', {
    textDocument: { uri },
    position: { line, character },
    context: { triggerKind: 2 },
  }, 60_000);
}

function items(result: Item[] | { items: Item[] } | null): Item[] {
  if (result === null) return [];
  return Array.isArray(result) ? result : result.items;
}

/** The server's log lines (window/logMessage) from notification index `from` on. */
function logSince(c: LspClient, from: number): string[] {
  return c.notifications.slice(from).filter((n) => n.method === 'window/logMessage').map((n) => (n.params as { message: string }).message);
}

/** A result or a RequestCancelled error, as `[items, 'cancelled']`. */
async function settle(p: Promise<Item[] | { items: Item[] } | null>): Promise<Item[] | 'cancelled'> {
  try {
    return items(await p);
  } catch (err) {
    if (err instanceof RpcResponseError && err.error.code === REQUEST_CANCELLED) return 'cancelled';
    throw err;
  }
}

describe('server whose model cannot load', { skip: noServer, timeout: 60_000 }, () => {
  let c: LspClient;
  before(async () => {
    c = LspClient.spawn(SERVER);
    await c.initialize({ settings: { ...SETTINGS, modelPath: path.join(ROOT, 'no', 'such', 'model') } });
  });
  after(() => c.kill());

  test('reports the error in diffill/status, answers empty, keeps serving, exits cleanly', async () => {
    const n = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'error');
    assert.match((n.params as StatusParams).message ?? '', /does not exist/);
    open(c, 'file:///tmp/x.py', 'x = 1\n');
    assert.deepEqual(items(await inline(c, 'file:///tmp/x.py', 1, 0).result), []);
    assert.deepEqual(items(await inline(c, 'file:///tmp/x.py', 0, 4).result), []);
    assert.equal(await c.shutdownAndExit(), 0);
  });
});

describe('server on the real model', { skip: noServer || noModel, timeout: 240_000 }, () => {
  let c: LspClient;
  let ready: StatusParams;

  before(async () => {
    c = LspClient.spawn(SERVER);
    const init = await c.initialize({ settings: SETTINGS });
    assert.equal(init.capabilities.inlineCompletionProvider, true);
    assert.equal(init.capabilities.textDocumentSync.change, 2, 'incremental sync');
    const n = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', 120_000);
    ready = n.params as StatusParams;
  });
  after(() => c.kill());

  test('loads the shipped model and says so', () => {
    assert.equal(ready.state, 'ready', `status: ${JSON.stringify(ready)}\nstderr:\n${c.stderr}`);
    assert.ok(ready.model, 'the status names the model');
    const loading = c.notifications.filter((n) => n.method === 'diffill/status' && (n.params as StatusParams).state === 'loading');
    assert.ok(loading.length >= 1, 'loading was reported before ready');
  });

  test('didOpen of a Python file + inlineCompletion → a non-empty item from the model', async () => {
    const uri = 'file:///work/fib.py';
    open(c, uri, FIB);
    const lines = FIB.split('\n');
    const line = lines.length - 2; // the "    return " line
    const got = items(await inline(c, uri, line, lines[line].length).result);
    assert.equal(got.length, 1, `one item; stderr:\n${c.stderr.slice(-2000)}`);
    assert.ok(got[0].insertText.trim().length > 0, `non-empty insertText: ${JSON.stringify(got[0])}`);
    assert.ok(!got[0].insertText.includes('\n'), 'single-line mode after text on the line');
    assert.deepEqual(got[0].range, { start: { line, character: lines[line].length }, end: { line, character: lines[line].length } });
    // The status is calm (status.ts): 'thinking' only for a fill longer than 300 ms, and a new
    // latency alone at most once a second, so the latency may arrive a moment after the answer.
    const withLatency = await c.waitForNotification('diffill/status', (p: StatusParams) => typeof p.lastLatencyMs === 'number', 5_000);
    assert.equal((withLatency.params as StatusParams).state, 'ready', 'the last latency is reported, in the ready state');
  });

  test('the same spot again is served from the cache, at once', async () => {
    const uri = 'file:///work/fib.py';
    const lines = FIB.split('\n');
    const line = lines.length - 2;
    const t0 = performance.now();
    const first = items(await inline(c, uri, line, lines[line].length).result);
    const ms = performance.now() - t0;
    assert.equal(first.length, 1);
    assert.ok(ms < 500, `cache hit took ${ms.toFixed(0)} ms`);
  });

  test('unknown document and out-of-range positions are answered empty; the server keeps serving', async () => {
    assert.deepEqual(items(await inline(c, 'file:///work/never-opened.py', 0, 0).result), []);
    const uri = 'file:///work/small.py';
    open(c, uri, 'def f(x):\n    return x\n');
    assert.deepEqual(items(await inline(c, uri, 99, 0).result), []);
    assert.deepEqual(items(await inline(c, uri, 0, 999).result), []);
    assert.deepEqual(items(await inline(c, uri, -1, 0).result), []);
    const bad = await c.request('textDocument/inlineCompletion', { textDocument: { uri }, position: 'nonsense', context: { triggerKind: 2 } }).catch((e) => e);
    assert.ok(Array.isArray(bad) || bad instanceof RpcResponseError, `malformed params answered: ${String(bad)}`);
    assert.ok(c.alive);
    const after = await settle(inline(c, uri, 1, 12).result);
    assert.ok(Array.isArray(after), 'a valid request still gets an answer');
  });

  test('an edit racing the request: the stale result is never returned', async () => {
    const uri = 'file:///work/race.py';
    const text = 'def scale(values, factor):\n    result = []\n    for v in values:\n        result.append(\n';
    open(c, uri, text);
    const mark = c.notifications.length;
    const pending = inline(c, uri, 3, '        result.append('.length);
    c.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# edited\n' }],
    });
    const got = await settle(pending.result);
    assert.ok(got === 'cancelled' || got.length === 0, `no item for an outdated version: ${JSON.stringify(got)}`);
    const log = logSince(c, mark);
    assert.ok(log.some((l) => l.includes('(outdated)')), `the server saw the version change:\n${log.join('\n')}`);
  });

  test('$/cancelRequest: answered with RequestCancelled or empty, then the server goes on', async () => {
    const uri = 'file:///work/cancel.py';
    open(c, uri, 'import os\n\n\ndef list_python_files(root):\n    return [f for f in os.listdir(root) if \n');
    const mark = c.notifications.length;
    const pending = inline(c, uri, 4, '    return [f for f in os.listdir(root) if '.length);
    c.cancel(pending.id);
    const got = await settle(pending.result);
    assert.ok(got === 'cancelled' || got.length === 0, `cancelled request answered: ${JSON.stringify(got)}`);
    const log = logSince(c, mark);
    assert.ok(log.some((l) => l.includes('(cancelled)')), `the server saw the cancellation:\n${log.join('\n')}`);
    assert.ok(c.alive);
  });

  test('a newer request supersedes the older one', async () => {
    const uri = 'file:///work/supersede.py';
    open(c, uri, 'def mean(xs):\n    total = sum(xs)\n    return total / \n\n\ndef median(xs):\n    ys = sorted(\n');
    const mark = c.notifications.length;
    const older = inline(c, uri, 2, '    return total / '.length);
    const newer = inline(c, uri, 6, '    ys = sorted('.length);
    const [a, b] = await Promise.all([settle(older.result), settle(newer.result)]);
    assert.ok(a === 'cancelled' || a.length === 0, `older request dropped: ${JSON.stringify(a)}`);
    assert.ok(Array.isArray(b), 'newer request answered');
    const log = logSince(c, mark);
    assert.ok(log.some((l) => l.includes('(cancelled)')), `the older request was cancelled by the newer:\n${log.join('\n')}`);
  });

  test('a language turned off in the settings gets nothing', async () => {
    const uri = 'file:///work/fib.py';
    const lines = FIB.split('\n');
    c.notify('workspace/didChangeConfiguration', { settings: { diffill: { ...SETTINGS, languages: { python: false } } } });
    assert.deepEqual(items(await inline(c, uri, lines.length - 2, lines[lines.length - 2].length).result), []);
    c.notify('workspace/didChangeConfiguration', { settings: { diffill: { ...SETTINGS, enable: false } } });
    await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'disabled', 10_000);
    c.notify('workspace/didChangeConfiguration', { settings: { diffill: SETTINGS } });
    assert.equal(items(await inline(c, uri, lines.length - 2, lines[lines.length - 2].length).result).length, 1);
  });

  test('didClose then a request for that document: empty', async () => {
    const uri = 'file:///work/small.py';
    c.notify('textDocument/didClose', { textDocument: { uri } });
    assert.deepEqual(items(await inline(c, uri, 0, 0).result), []);
  });

  test('shutdown and exit: the process ends with code 0', async () => {
    assert.equal(await c.shutdownAndExit(), 0);
    assert.equal(c.alive, false);
  });
});

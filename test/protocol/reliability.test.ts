/**
 * Bad input over LSP: each case gets an empty answer or a clear JSON-RPC error, and the server
 * keeps serving (a normal request afterwards gets a normal answer). Then a property-based fuzz of
 * the request parameters and edits, bounded in time, with a fixed seed.
 */
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { LspClient, RpcResponseError } from './lspClient';
import {
  PROBE_AT,
  PROBE_PY,
  REQUEST_CANCELLED,
  SERVER,
  announceSkip,
  inline,
  items,
  logSince,
  open,
  settle,
  settingsWith,
  skipReason,
  startReady,
  stillServes,
} from './session';

announceSkip('reliability tests (bad input, fuzz)');

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;
const SERVER_NOT_INITIALIZED = -32002;
/** Fuzzing time in `npm test` (DIFFILL_FUZZ_MS to change it). */
const FUZZ_MS = Number(process.env.DIFFILL_FUZZ_MS ?? 20_000);
const FUZZ_SEED = 20261124;

/** Generous: these tests check robustness, not latency, on a slow shared machine. */
const SETTINGS = settingsWith({ latencyBudgetMs: 300 });

function frame(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
}

/** An error response's code, or 'ok' with the items. */
async function outcome(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof RpcResponseError) return err.error.code;
    throw err;
  }
}

/** Real-looking Python, `n` bytes or a little more. */
function pythonOfSize(n: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const f = `def transform_${i}(records, scale=${i % 7 + 1}):\n    """Scale every value of the records."""\n    out = []\n    for r in records:\n        out.append({"id": r["id"], "value": r["value"] * scale})\n    return out\n\n\n`;
    parts.push(f);
    size += f.length;
  }
  return parts.join('');
}

describe('bad input', { skip: skipReason, timeout: 300_000 }, () => {
  let c: LspClient;
  before(async () => {
    const started = await startReady(SETTINGS);
    c = started.c;
    assert.equal(started.status.state, 'ready', `model ready: ${JSON.stringify(started.status)}\n${c.stderr}`);
    assert.ok((await stillServes(c, 'first')).length >= 0);
  });
  after(() => c?.kill());

  test('a 10 MB file: answered at its start, middle and end, and while edited', async () => {
    const text = pythonOfSize(10 * 1024 * 1024);
    const lines = text.split('\n');
    const uri = 'file:///work/huge.py';
    open(c, uri, text);
    for (const line of [3, Math.floor(lines.length / 2), lines.length - 4]) {
      const t0 = performance.now();
      const got = await settle(inline(c, uri, line, lines[line].length).result);
      assert.ok(Array.isArray(got), `line ${line}`);
      assert.ok(performance.now() - t0 < 15_000, `line ${line} answered in ${(performance.now() - t0).toFixed(0)} ms`);
    }
    const mid = Math.floor(lines.length / 2);
    c.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: mid, character: 0 }, end: { line: mid, character: 0 } }, text: '    x = compute(\n' }],
    });
    assert.ok(Array.isArray(await settle(inline(c, uri, mid, '    x = compute('.length).result)));
    c.notify('textDocument/didClose', { textDocument: { uri } });
    assert.ok(Array.isArray(await stillServes(c, 'huge')));
  });

  test('a 100,000-character line', async () => {
    const long = `values = [${Array.from({ length: 20_000 }, (_, i) => i % 1000).join(', ')}`.slice(0, 100_000);
    const text = `import os\n${long}\nprint(values)\n`;
    const uri = 'file:///work/long-line.py';
    open(c, uri, text);
    for (const [line, ch] of [[1, 100_000], [1, 50_000], [1, 0], [2, 6], [3, 0]]) {
      assert.ok(Array.isArray(await settle(inline(c, uri, line, ch).result)), `${line}:${ch}`);
    }
    c.notify('textDocument/didClose', { textDocument: { uri } });
    assert.ok(Array.isArray(await stillServes(c, 'long-line')));
  });

  test('NUL bytes, control characters and binary content', async () => {
    let binary = '';
    for (let i = 0; i < 4096; i++) binary += String.fromCharCode((i * 7919 + 13) % 256);
    const texts = [
      'def f(x):\n    return x\0\0\0 + 1\n    \0',
      `# binary below\n${binary}\ndef g():\n    return `,
      '\x01\x02\x03\x1b[31m\x7f\u0085\u2028\u2029\ufeff\ufffe\uffff\n    return ',
    ];
    for (const [i, text] of texts.entries()) {
      const uri = `file:///work/binary-${i}.py`;
      open(c, uri, text);
      const lines = text.split('\n');
      const last = lines.length - 1;
      assert.ok(Array.isArray(await settle(inline(c, uri, last, lines[last].length).result)), `text ${i}`);
      assert.ok(Array.isArray(await settle(inline(c, uri, 0, 3).result)), `text ${i} mid-line`);
      c.notify('textDocument/didClose', { textDocument: { uri } });
    }
    assert.ok(Array.isArray(await stillServes(c, 'binary')));
  });

  test('lone UTF-16 surrogates, and a position between the halves of a pair', async () => {
    const text = 'name = "\ud800"\nother = "\udc00x\ud83d"\nemoji = "😀😀"\n    return ';
    const uri = 'file:///work/surrogates.py';
    open(c, uri, text);
    for (const [line, ch] of [[0, 9], [1, 10], [2, 10], [2, 11], [3, 11]]) {
      assert.ok(Array.isArray(await settle(inline(c, uri, line, ch).result)), `${line}:${ch}`);
    }
    // An edit that inserts a lone surrogate, then one that splits a pair.
    c.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: { line: 3, character: 11 }, end: { line: 3, character: 11 } }, text: '\udbff' },
        { range: { start: { line: 2, character: 10 }, end: { line: 2, character: 10 } }, text: 'x' },
      ],
    });
    assert.ok(Array.isArray(await settle(inline(c, uri, 3, 12).result)));
    c.notify('textDocument/didClose', { textDocument: { uri } });
    assert.ok(Array.isArray(await stillServes(c, 'surrogates')));
  });

  test('positions past the end, negative, fractional, huge or not numbers: empty', async () => {
    const uri = 'file:///work/positions.py';
    open(c, uri, 'def f(x):\n    return x\n');
    const positions: unknown[] = [
      { line: 2, character: 1 },
      { line: 99, character: 0 },
      { line: 0, character: 10 },
      { line: 0, character: 999 },
      { line: -1, character: 0 },
      { line: 0, character: -1 },
      { line: 0.5, character: 1 },
      { line: 2 ** 31, character: 0 },
      { line: Number.MAX_SAFE_INTEGER, character: Number.MAX_SAFE_INTEGER },
      { line: 1e308, character: 0 },
      { line: '0', character: '1' },
      { line: null, character: null },
      {},
      null,
      'nonsense',
      [0, 0],
    ];
    for (const position of positions) {
      const r = await c.request('textDocument/inlineCompletion', { textDocument: { uri }, position, context: { triggerKind: 2 } });
      assert.deepEqual(items(r as never), [], `position ${JSON.stringify(position)}`);
    }
    assert.ok(Array.isArray(await stillServes(c, 'positions')));
  });

  test('unknown, closed and odd URIs: empty', async () => {
    const uris: unknown[] = ['file:///work/never-opened.py', '', 'not a uri', 'untitled:Untitled-1', 'file:///work/%ZZ', 42, null, { uri: 'x' }];
    for (const uri of uris) {
      const r = await c.request('textDocument/inlineCompletion', { textDocument: { uri }, position: { line: 0, character: 0 } });
      assert.deepEqual(items(r as never), [], `uri ${JSON.stringify(uri)}`);
    }
    open(c, 'file:///work/closed.py', 'x = 1\n');
    c.notify('textDocument/didClose', { textDocument: { uri: 'file:///work/closed.py' } });
    assert.deepEqual(items(await inline(c, 'file:///work/closed.py', 0, 5).result), []);
    // Edits and closes of documents the server never saw are ignored.
    c.notify('textDocument/didChange', { textDocument: { uri: 'file:///work/ghost.py', version: 9 }, contentChanges: [{ text: 'x' }] });
    c.notify('textDocument/didClose', { textDocument: { uri: 'file:///work/ghost.py' } });
    assert.ok(Array.isArray(await stillServes(c, 'uris')));
  });

  test('malformed JSON-RPC: answered with the JSON-RPC error, and the stream goes on', async () => {
    const orphans = c.orphanResponses.length;
    const marks = c.notifications.length;
    c.writeRaw(frame('{"jsonrpc": "2.0", "id": 9001, "method": "textDocument/inlineCompletion", "params": {'));
    c.writeRaw(frame('\u0000\u0001 not json at all'));
    c.writeRaw(Buffer.from('this is not a header\r\n\r\n'));
    c.writeRaw(Buffer.from('Content-Length: 99999999999\r\n\r\n{}'));
    const wrongVersion = c.send('textDocument/inlineCompletion', {});
    const codes: Array<[string, unknown]> = [];
    // Hand-built frames with a known id: the client waits for their answers.
    const raw = async (what: string, msg: object, id: number) => {
      const answered = new Promise<unknown>((resolve) => {
        const prev = c.onResponse;
        c.onResponse = (m) => {
          prev?.(m);
          if (m.id === id) {
            c.onResponse = prev;
            resolve(m.error?.code ?? 'ok');
          }
        };
      });
      c.writeRaw(frame(JSON.stringify(msg)));
      codes.push([what, await answered]);
    };
    await raw('jsonrpc 1.0', { jsonrpc: '1.0', id: 9101, method: 'textDocument/inlineCompletion', params: {} }, 9101);
    await raw('no jsonrpc', { id: 9102, method: 'textDocument/inlineCompletion', params: {} }, 9102);
    await raw('no method', { jsonrpc: '2.0', id: 9103, params: {} }, 9103);
    await raw('method not a string', { jsonrpc: '2.0', id: 9104, method: 7 }, 9104);
    await raw('params an array', { jsonrpc: '2.0', id: 9105, method: 'textDocument/inlineCompletion', params: [1, 2] }, 9105);
    await raw('params a string', { jsonrpc: '2.0', id: 9106, method: 'textDocument/inlineCompletion', params: 'x' }, 9106);
    await raw('unknown method', { jsonrpc: '2.0', id: 9107, method: 'diffill/noSuchThing', params: {} }, 9107);
    assert.deepEqual(codes, [
      ['jsonrpc 1.0', INVALID_REQUEST],
      ['no jsonrpc', INVALID_REQUEST],
      ['no method', INVALID_REQUEST],
      ['method not a string', INVALID_REQUEST],
      ['params an array', INVALID_PARAMS],
      ['params a string', INVALID_PARAMS],
      ['unknown method', -32601],
    ]);
    assert.deepEqual(items((await wrongVersion.result) as never), [], 'a normal request right after the garbage');
    // Truncated JSON, binary, a header without Content-Length, a length over the limit: ParseError, id null.
    const parseErrors = c.orphanResponses.slice(orphans).filter((m) => m.id === null && m.error?.code === PARSE_ERROR);
    assert.equal(parseErrors.length, 4, JSON.stringify(c.orphanResponses.slice(orphans)));
    const log = [...logSince(c, marks).map((l) => l.message), c.stderr].join('\n');
    assert.match(log, /malformed/, 'the log says why');
    assert.ok(c.alive);
    assert.ok((await stillServes(c, 'malformed')).length >= 0);
  });

  test('CRLF and mixed line endings: positions, answers and edits stay right', async () => {
    const crlf = 'def area(r):\r\n    pi = 3.14159\r\n    return \r\n\r\ndef perimeter(r):\r\n    return 2 * pi * r\r\n';
    const uri = 'file:///work/crlf.py';
    open(c, uri, crlf);
    const got = await settle(inline(c, uri, 2, 11).result);
    assert.ok(Array.isArray(got));
    for (const item of got) {
      assert.ok(!/(^|[^\r])\n/.test(item.insertText), `CRLF document, CRLF completion: ${JSON.stringify(item.insertText)}`);
      assert.deepEqual(item.range, { start: { line: 2, character: 11 }, end: { line: 2, character: 11 } });
    }
    assert.deepEqual(items(await inline(c, uri, 2, 12).result), [], 'the \\r is not a position');
    c.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 3, character: 0 }, end: { line: 3, character: 0 } }, text: '    # note\r\n' }],
    });
    assert.ok(Array.isArray(await settle(inline(c, uri, 3, 10).result)));

    const mixed = 'a = 1\nb = 2\r\nc = 3\rd = 4\n\r\n    return ';
    open(c, 'file:///work/mixed.py', mixed);
    for (const [line, ch] of [[0, 5], [1, 5], [2, 5], [3, 5], [4, 0], [5, 11]]) {
      assert.ok(Array.isArray(await settle(inline(c, 'file:///work/mixed.py', line, ch).result)), `${line}:${ch}`);
    }
    assert.ok(Array.isArray(await stillServes(c, 'crlf')));
  });

  test('notebook cells (vscode-notebook-cell: URIs) are served like files', async () => {
    const cell = 'vscode-notebook-cell:/work/analysis.ipynb#W2sZmlsZQ%3D%3D';
    const lines = PROBE_PY.split('\n');
    open(c, cell, PROBE_PY);
    const got = await settle(inline(c, cell, PROBE_AT.line, lines[PROBE_AT.line].length).result);
    assert.ok(Array.isArray(got));
    // A client that syncs whole notebooks: the server has no notebook sync, the message is ignored.
    c.notify('notebookDocument/didOpen', {
      notebookDocument: { uri: 'file:///work/analysis.ipynb', notebookType: 'jupyter-notebook', version: 1, cells: [{ kind: 2, document: cell }] },
      cellTextDocuments: [{ uri: cell, languageId: 'python', version: 1, text: PROBE_PY }],
    });
    c.notify('textDocument/didClose', { textDocument: { uri: cell } });
    assert.ok(Array.isArray(await stillServes(c, 'notebook')));
  });

  test('null and missing params: an empty answer or InvalidParams, never an internal error', async () => {
    assert.deepEqual(items((await c.request('textDocument/inlineCompletion', null)) as never), []);
    assert.equal(await outcome(c.request('textDocument/inlineCompletion', undefined)), INVALID_PARAMS);
    assert.deepEqual(items((await c.request('textDocument/inlineCompletion', {})) as never), []);
    assert.deepEqual(items((await c.request('textDocument/inlineCompletion', { textDocument: null, position: null })) as never), []);
    // Notifications with null or missing params are logged and ignored.
    for (const method of ['textDocument/didOpen', 'textDocument/didChange', 'textDocument/didClose', 'workspace/didChangeConfiguration', '$/cancelRequest', '$/setTrace']) {
      c.notify(method, null);
      c.notify(method);
    }
    assert.ok(c.alive);
    assert.ok(Array.isArray(await stillServes(c, 'null-params')));
  });
});

describe('requests before initialize', { skip: skipReason, timeout: 60_000 }, () => {
  test('are refused with ServerNotInitialized; notifications are dropped; then initialize works', async () => {
    const c = LspClient.spawn(SERVER);
    try {
      assert.equal(await outcome(c.request('textDocument/inlineCompletion', { textDocument: { uri: 'file:///a.py' }, position: { line: 0, character: 0 } })), SERVER_NOT_INITIALIZED);
      assert.equal(await outcome(c.request('shutdown', null)), SERVER_NOT_INITIALIZED);
      open(c, 'file:///work/early.py', PROBE_PY); // dropped: not initialized
      await c.initialize({ settings: SETTINGS });
      await c.waitForNotification('diffill/status', (p) => p.state === 'ready', 120_000);
      assert.deepEqual(items(await inline(c, 'file:///work/early.py', PROBE_AT.line, PROBE_AT.character).result), [], 'the early didOpen was dropped');
      assert.ok(Array.isArray(await stillServes(c, 'after-init')));
      assert.equal(await c.shutdownAndExit(), 0);
    } finally {
      c.kill();
    }
  });
});

describe('node-ipc, the transport VS Code starts the server with', { skip: skipReason, timeout: 120_000 }, () => {
  test('the same guard: early requests and bad envelopes are answered; completions and shutdown work', async () => {
    const child = fork(SERVER, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const waiting = new Map<number, (m: any) => void>();
    const notes: any[] = [];
    child.on('message', (m: any) => {
      if (m.id !== undefined && m.method === undefined) waiting.get(m.id)?.(m);
      else if (m.id !== undefined) child.send({ jsonrpc: '2.0', id: m.id, result: null });
      else notes.push(m);
    });
    const request = (msg: Record<string, unknown>) =>
      new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(msg)}`)), 60_000);
        waiting.set(msg.id as number, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        child.send(msg);
      });
    try {
      const early = await request({ jsonrpc: '2.0', id: 1, method: 'textDocument/inlineCompletion', params: {} });
      assert.equal(early.error?.code, SERVER_NOT_INITIALIZED);
      const init = await request({ jsonrpc: '2.0', id: 2, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { settings: SETTINGS } } });
      assert.equal(init.result.capabilities.inlineCompletionProvider, true);
      child.send({ jsonrpc: '2.0', method: 'initialized', params: {} });
      for (let i = 0; i < 600 && !notes.some((n) => n.method === 'diffill/status' && n.params.state === 'ready'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await request({ jsonrpc: '1.0', id: 3, method: 'textDocument/inlineCompletion', params: {} })).error?.code, INVALID_REQUEST);
      assert.equal((await request({ jsonrpc: '2.0', id: 4, params: {} })).error?.code, INVALID_REQUEST);
      child.send({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri: 'file:///ipc.py', languageId: 'python', version: 1, text: PROBE_PY } } });
      const got = await request({ jsonrpc: '2.0', id: 5, method: 'textDocument/inlineCompletion', params: { textDocument: { uri: 'file:///ipc.py' }, position: PROBE_AT } });
      assert.ok(Array.isArray(got.result), JSON.stringify(got));
      assert.deepEqual((await request({ jsonrpc: '2.0', id: 6, method: 'textDocument/inlineCompletion', params: null })).result, []);
      assert.equal((await request({ jsonrpc: '2.0', id: 7, method: 'shutdown' })).result, null);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.send({ jsonrpc: '2.0', method: 'exit' });
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('fuzz: request parameters and edits (fast-check)', { skip: skipReason, timeout: FUZZ_MS + 180_000 }, () => {
  let c: LspClient;
  before(async () => {
    ({ c } = await startReady(settingsWith({ latencyBudgetMs: 100, debounceMs: 0 })));
  });
  after(() => c?.kill());

  test(`random params and edits for ${FUZZ_MS / 1000} s (seed ${FUZZ_SEED}): answers are arrays or clear errors`, async () => {
    const uris = ['file:///fuzz/a.py', 'file:///fuzz/b.ts', 'vscode-notebook-cell:/fuzz/n.ipynb#c1'];
    const docs = new Map<string, { version: number }>();
    for (const [i, uri] of uris.entries()) {
      open(c, uri, PROBE_PY, i === 1 ? 'typescript' : 'python');
      docs.set(uri, { version: 1 });
    }
    // Mostly what an editor sends (so the model runs), sometimes anything at all.
    const index = fc.oneof(
      { weight: 12, arbitrary: fc.nat({ max: 14 }) },
      { weight: 1, arbitrary: fc.integer({ min: -5, max: 5 }) },
      { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 53, -(2 ** 31)) },
      { weight: 1, arbitrary: fc.oneof(fc.double(), fc.constant(null), fc.string({ maxLength: 3 })) },
    );
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('\n', '\r\n', '\r', ' ', '(', ')', ':', 'x', '\t', '\ud800', '\udc00', '\0'), maxLength: 30 }),
      fc.constantFrom('', '    return ', 'def f(x):\n    ', '\r\n\r\n'),
    );
    const position = fc.oneof({ weight: 8, arbitrary: fc.record({ line: index, character: index }) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });
    const uri = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...uris) }, { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)) });
    const params = fc.oneof(
      { weight: 8, arbitrary: fc.record({ textDocument: fc.record({ uri }), position, context: fc.option(fc.anything({ maxDepth: 2 })) }) },
      { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
    );
    const edit = fc.record({
      doc: fc.constantFrom(...uris),
      range: fc.option(fc.record({ start: fc.record({ line: index, character: index }), end: fc.record({ line: index, character: index }) }), { nil: undefined, freq: 8 }),
      text,
    });
    const step = fc.record({
      reopen: fc.option(fc.constantFrom(...uris), { nil: undefined, freq: 10 }),
      edits: fc.array(edit, { maxLength: 3 }),
      params,
      cancel: fc.boolean(),
    });

    let runs = 0;
    let withItems = 0;
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(step, async ({ reopen, edits, params, cancel }) => {
        runs++;
        if (reopen) {
          // A fresh copy now and then: a refused edit sets a document aside until it is reopened.
          open(c, reopen, PROBE_PY, reopen.endsWith('.ts') ? 'typescript' : 'python', ++docs.get(reopen)!.version);
        }
        for (const e of edits) {
          const d = docs.get(e.doc)!;
          d.version++;
          c.notify('textDocument/didChange', {
            textDocument: { uri: e.doc, version: d.version },
            contentChanges: [e.range ? { range: e.range, text: e.text } : { text: e.text }],
          });
        }
        const sent = c.send('textDocument/inlineCompletion', params, 30_000);
        if (cancel) c.cancel(sent.id);
        const o = await outcome(sent.result.then((r) => {
          if (r !== null && !Array.isArray(r)) throw new Error(`not an array: ${JSON.stringify(r)}`);
          for (const it of (r ?? []) as Array<{ insertText: unknown }>) {
            if (typeof it.insertText !== 'string') throw new Error(`item without insertText: ${JSON.stringify(it)}`);
          }
          if (Array.isArray(r) && r.length > 0) withItems++;
          return r;
        }));
        seen.set(String(o), (seen.get(String(o)) ?? 0) + 1);
        assert.ok(o === 'ok' || o === REQUEST_CANCELLED || o === INVALID_PARAMS, `answer ${o} for ${JSON.stringify(params)}`);
        assert.notEqual(o, INTERNAL_ERROR);
        assert.ok(c.alive, 'server alive');
      }),
      { seed: FUZZ_SEED, numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
    console.log(`fuzz: ${runs} runs in ${FUZZ_MS / 1000} s, ${withItems} answered with items, outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.ok(runs >= 20, `the fuzz ran (${runs} runs)`);
    assert.ok(Array.isArray(await stillServes(c, 'fuzz')));
    assert.equal(await c.shutdownAndExit(), 0);
  });
});

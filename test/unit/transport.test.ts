import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ErrorCodes, type Message } from 'vscode-languageserver/node';
import { FrameParser, GuardedInput, MessageGuard } from '../../server/src/transport';

function frame(body: string | object): Buffer {
  const b = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
}

const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} };
const req = (id: number, params: unknown = {}) => ({ jsonrpc: '2.0', id, method: 'textDocument/inlineCompletion', params });

describe('MessageGuard', () => {
  test('before initialize: requests get ServerNotInitialized, notifications are dropped, exit passes', () => {
    const g = new MessageGuard();
    assert.deepEqual(g.check(req(7)), {
      kind: 'reply',
      id: 7,
      code: ErrorCodes.ServerNotInitialized,
      message: 'textDocument/inlineCompletion: the server is not initialized yet (send "initialize" first)',
    });
    assert.equal(g.check({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: {} }).kind, 'drop');
    assert.equal(g.check({ jsonrpc: '2.0', method: 'exit' }).kind, 'pass');
    assert.equal(g.check(init).kind, 'pass');
    assert.equal(g.check(req(8)).kind, 'pass');
  });

  test('envelopes: jsonrpc, method, id and params are checked', () => {
    const g = new MessageGuard();
    g.check(init);
    const code = (m: unknown) => {
      const v = g.check(m);
      return v.kind === 'reply' ? [v.code, v.id] : v.kind;
    };
    assert.deepEqual(code({ jsonrpc: '1.0', id: 3, method: 'x' }), [ErrorCodes.InvalidRequest, 3]);
    assert.deepEqual(code({ id: 3, method: 'x' }), [ErrorCodes.InvalidRequest, 3]);
    assert.deepEqual(code({ jsonrpc: '2.0', id: 4, params: {} }), [ErrorCodes.InvalidRequest, 4], 'missing method');
    assert.deepEqual(code({ jsonrpc: '2.0', id: 4, method: 42 }), [ErrorCodes.InvalidRequest, 4]);
    assert.deepEqual(code({ jsonrpc: '2.0', id: { a: 1 }, method: 'x' }), [ErrorCodes.InvalidRequest, null]);
    assert.deepEqual(code([req(5)]), [ErrorCodes.InvalidRequest, null], 'batch');
    assert.deepEqual(code('hello'), [ErrorCodes.InvalidRequest, null]);
    assert.deepEqual(code(null), [ErrorCodes.InvalidRequest, null]);
    assert.deepEqual(code(req(6, [1, 2])), [ErrorCodes.InvalidParams, 6]);
    assert.deepEqual(code(req(6, 'text')), [ErrorCodes.InvalidParams, 6]);
    assert.equal(code({ jsonrpc: '2.0', method: 'x', params: 3 }), 'drop');
    assert.equal(code(req(9, null)), 'pass', 'null params reach the handler, which answers empty');
    assert.equal(code({ jsonrpc: '2.0', id: 9, method: 'shutdown' }), 'pass', 'params may be omitted');
    assert.equal(code({ jsonrpc: '2.0', id: 10, result: null }), 'pass', 'responses to server requests');
    assert.equal(code({ jsonrpc: '2.0', id: 11, error: { code: 1, message: 'no' } }), 'pass');
  });
});

describe('FrameParser', () => {
  test('frames split anywhere are reassembled', () => {
    const bytes = Buffer.concat([frame(req(1)), frame(req(2)), frame({ jsonrpc: '2.0', method: 'n' })]);
    for (const step of [1, 3, 7, 64, bytes.length]) {
      const p = new FrameParser();
      const bodies: string[] = [];
      for (let i = 0; i < bytes.length; i += step) {
        for (const f of p.push(bytes.subarray(i, i + step))) {
          assert.equal(f.kind, 'body');
          if (f.kind === 'body') bodies.push(f.body.toString());
        }
      }
      assert.deepEqual(bodies.map((b) => JSON.parse(b).id ?? JSON.parse(b).method), [1, 2, 'n'], `chunks of ${step}`);
    }
  });

  test('a length over the limit is refused and the next frame still read', () => {
    const p = new FrameParser(1000);
    const out = p.push(Buffer.concat([Buffer.from('Content-Length: 99999999999\r\n\r\n{}'), frame(req(2))]));
    assert.equal(out[0].kind, 'bad');
    assert.match(out[0].kind === 'bad' ? out[0].why : '', /over the 1000-byte limit/);
    const bodies = out.filter((f) => f.kind === 'body');
    assert.equal(bodies.length, 1);
    assert.equal(p.buffered, 0);
  });

  test('garbage before a header is skipped', () => {
    const p = new FrameParser();
    const out = p.push(Buffer.concat([Buffer.from('garbage\r\n\r\nmore garbage'), frame(req(3))]));
    assert.deepEqual(out.map((f) => f.kind), ['bad', 'body']);
  });

  test('a header without its end keeps waiting, then gives up past 8 KiB', () => {
    const p = new FrameParser();
    assert.deepEqual(p.push(Buffer.from('Content-Length: 5\r\n')), []);
    const q = new FrameParser();
    const out = q.push(Buffer.concat([Buffer.alloc(9000, 'x'), frame(req(4))]));
    assert.deepEqual(out.map((f) => f.kind), ['bad', 'body']);
  });
});

describe('GuardedInput', () => {
  async function run(input: Buffer[]): Promise<{ passed: any[]; replies: Message[]; problems: string[] }> {
    const replies: Message[] = [];
    const problems: string[] = [];
    const g = new GuardedInput({ reply: (m) => replies.push(m), problem: (m) => problems.push(m) });
    const out: Buffer[] = [];
    g.on('data', (b: Buffer) => out.push(b));
    for (const b of input) g.write(b);
    g.end();
    await new Promise((r) => g.on('end', r));
    const parser = new FrameParser();
    const passed = parser.push(Buffer.concat(out)).map((f) => (f.kind === 'body' ? JSON.parse(f.body.toString()) : f));
    return { passed, replies, problems };
  }

  test('valid messages pass unchanged; bad JSON, bad envelopes and early requests are answered', async () => {
    const r = await run([
      frame(req(1)), // before initialize
      frame(init),
      frame('{not json'),
      frame({ jsonrpc: '1.0', id: 2, method: 'textDocument/inlineCompletion', params: {} }),
      frame({ jsonrpc: '2.0', id: 3, params: {} }),
      frame(req(4)),
    ]);
    assert.deepEqual(r.passed.map((m) => m.id), [1, 4]);
    assert.deepEqual(
      r.replies.map((m: any) => [m.id, m.error.code]),
      [
        [1, ErrorCodes.ServerNotInitialized],
        [null, ErrorCodes.ParseError],
        [2, ErrorCodes.InvalidRequest],
        [3, ErrorCodes.InvalidRequest],
      ],
    );
    assert.equal(r.problems.length, 4);
  });

  test('a Content-Length too long swallows the start of the next frame: that frame is recovered', async () => {
    for (const length of [20, 40]) {
      // {"a":1} is 7 bytes: the next 13 (part of the header) or 33 (header and some body) are swallowed.
      const bad = Buffer.from(`Content-Length: ${length}\r\n\r\n{"a":1}`);
      const r = await run([frame(init), bad, frame(req(5)), frame(req(6))]);
      assert.deepEqual(r.passed.map((m) => m.id), [1, 5, 6], `length ${length}`);
      assert.deepEqual(r.replies.map((m: any) => m.error.code), [ErrorCodes.ParseError]);
    }
  });

  test('logged problems never quote the message (it may hold document text)', async () => {
    const secret = 'SECRET_DOCUMENT_TEXT_42';
    const r = await run([frame(init), frame(`{"text": "${secret}"`), frame({ jsonrpc: '9', id: 1, method: secret })]);
    for (const p of r.problems) assert.ok(!p.includes(secret), p);
  });
});

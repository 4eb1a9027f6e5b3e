/**
 * The server's end of the wire, hardened. vscode-languageserver trusts its input: a bad frame can
 * stall the stream, a message without `method` or with the wrong `jsonrpc` is silently misread,
 * and requests are served before `initialize`. Here every incoming message passes a guard first:
 *
 *   stdio:    stdin → FrameParser (framing, size limit, resync) → JSON → MessageGuard → library
 *   node-ipc: IPCMessageReader (Node frames and parses) → MessageGuard → library
 *
 * A rejected message is answered with the JSON-RPC error it deserves (or dropped when there is
 * nothing to answer) and logged without its content: a message may carry document text.
 */
import { Transform, type TransformCallback } from 'node:stream';
import {
  type DataCallback,
  type Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
  AbstractMessageReader,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageWriter,
} from 'vscode-languageserver/node';

/** Largest message accepted (a 10 MB document is ~10 MB of JSON; binary text escapes to ~6×). */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** A header block longer than this is not a header: the stream is resynchronized. */
const MAX_HEADER_BYTES = 8 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');
const CONTENT_LENGTH = /content-length[ \t]*:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i;

type Id = number | string | null;

export type Verdict =
  | { kind: 'pass' }
  | { kind: 'drop'; why: string }
  | { kind: 'reply'; id: Id; code: number; message: string };

/**
 * Checks the JSON-RPC envelope of each message and keeps the LSP lifecycle: before `initialize`
 * a request is answered ServerNotInitialized and a notification dropped (`exit` excepted).
 */
export class MessageGuard {
  private initializeSeen = false;

  check(msg: unknown): Verdict {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      return invalid(null, Array.isArray(msg) ? 'batches are not part of LSP' : 'a message must be a JSON object');
    }
    const m = msg as Record<string, unknown>;
    const hasId = 'id' in m && m.id !== undefined;
    const id = validId(m.id) ? m.id : null;
    if (hasId && !validId(m.id)) return invalid(null, 'the id must be a number or a string');
    if (m.jsonrpc !== '2.0') return invalid(id, 'the "jsonrpc" member must be exactly "2.0"');

    if (!('method' in m) || m.method === undefined) {
      // A response to one of the server's own requests.
      if (hasId && ('result' in m || 'error' in m)) return { kind: 'pass' };
      return invalid(id, 'a request needs a "method"');
    }
    if (typeof m.method !== 'string' || m.method === '') {
      return hasId ? invalid(id, 'the "method" member must be a non-empty string') : { kind: 'drop', why: 'notification without a method name' };
    }
    const params = m.params;
    if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
      if (!hasId) return { kind: 'drop', why: `${m.method}: params must be an object` };
      return { kind: 'reply', id, code: ErrorCodes.InvalidParams, message: `${m.method}: LSP parameters are an object (got ${Array.isArray(params) ? 'an array' : typeof params})` };
    }
    if (!this.initializeSeen) {
      if (m.method === 'initialize' && hasId) {
        this.initializeSeen = true;
        return { kind: 'pass' };
      }
      if (!hasId) return m.method === 'exit' ? { kind: 'pass' } : { kind: 'drop', why: `${m.method} before initialize` };
      return { kind: 'reply', id, code: ErrorCodes.ServerNotInitialized, message: `${m.method}: the server is not initialized yet (send "initialize" first)` };
    }
    return { kind: 'pass' };
  }
}

function validId(v: unknown): v is number | string {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function invalid(id: Id, why: string): Verdict {
  return { kind: 'reply', id, code: ErrorCodes.InvalidRequest, message: `Invalid request: ${why}` };
}

export function errorResponse(id: Id, code: number, message: string): Message {
  return { jsonrpc: '2.0', id, error: { code, message } } as Message;
}

export type Frame = { kind: 'body'; body: Buffer } | { kind: 'bad'; why: string };

/**
 * Splits a byte stream into `Content-Length` framed bodies, and survives what a client should never
 * send: garbage between frames is skipped up to the next header; a length over the limit is
 * refused and reading goes on after its header; `unread()` puts bytes back when a body turned out
 * to swallow the start of the next frame.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes = MAX_MESSAGE_BYTES) {}

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Writes `chunk` and returns every frame now complete (for tests; the stream uses `next`). */
  push(chunk: Buffer): Frame[] {
    this.write(chunk);
    const out: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) out.push(f);
    return out;
  }

  /** Puts bytes back in front of the stream (they are read again first). */
  unread(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.unshift(bytes);
    this.size += bytes.length;
  }

  /** Bytes buffered and not yet framed. */
  get buffered(): number {
    return this.size;
  }

  /** The next complete frame, or undefined until more bytes arrive. */
  next(): Frame | undefined {
    if (this.size === 0) return undefined;
    const head = this.peek(Math.min(this.size, MAX_HEADER_BYTES + HEADER_END.length));
    const end = head.indexOf(HEADER_END);
    if (end < 0) {
      if (head.length <= MAX_HEADER_BYTES) return undefined; // the header is still arriving
      return this.resync(1, `no header end within ${MAX_HEADER_BYTES} bytes`);
    }
    const header = head.subarray(0, end).toString('latin1');
    const m = CONTENT_LENGTH.exec(header);
    if (!m) return this.resync(end + HEADER_END.length, 'a header without Content-Length');
    const length = Number(m[1]);
    const start = end + HEADER_END.length;
    if (!Number.isSafeInteger(length) || length > this.maxBytes) {
      this.skip(start);
      return { kind: 'bad', why: `Content-Length ${m[1]} is over the ${this.maxBytes}-byte limit` };
    }
    if (this.size < start + length) return undefined;
    this.skip(start);
    return { kind: 'body', body: this.take(length) };
  }

  /** Drops `from` bytes, then everything up to the next "Content-Length" (or all but a tail). */
  private resync(from: number, why: string): Frame {
    this.skip(from);
    const all = this.peek(this.size);
    const at = indexOfHeader(all);
    if (at >= 0) this.skip(at);
    else this.skip(Math.max(0, all.length - 32)); // keep a tail: a header may be split across chunks
    return { kind: 'bad', why };
  }

  private peek(n: number): Buffer {
    if (this.chunks.length > 1 && this.chunks[0].length < n) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all];
    }
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    const out = Buffer.from(this.peek(n));
    this.skip(n);
    return out;
  }

  private skip(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[0];
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
  }
}

/**
 * Offset of the next "Content-Length" header name (any case) in `bytes`, or where a tail that may
 * be its beginning starts (the rest is still in the stream), or -1.
 */
export function indexOfHeader(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  const m = /content-length[ \t]*:/i.exec(text);
  if (m) return m.index;
  const name = 'content-length:';
  for (let k = Math.min(name.length - 1, text.length); k > 0; k--) {
    if (text.slice(-k).toLowerCase() === name.slice(0, k)) return text.length - k;
  }
  return -1;
}

export interface GuardSink {
  /** Sends an error response to the client. */
  reply(message: Message): void;
  /** Reports a rejected message (no content: a message may carry document text). */
  problem(message: string): void;
}

/**
 * stdin bytes in, clean frames out (for vscode-languageserver's own stream reader). Kept a stream
 * so that the library's "stdin ended → exit" handling stays as it is.
 */
export class GuardedInput extends Transform {
  private readonly frames = new FrameParser();
  private readonly guard = new MessageGuard();

  constructor(private readonly sink: GuardSink) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.feed(chunk);
    } catch (err) {
      this.sink.problem(`input guard failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    done();
  }

  private feed(chunk: Buffer): void {
    this.frames.write(chunk);
    for (let frame = this.frames.next(); frame; frame = this.frames.next()) {
      if (frame.kind === 'bad') {
        this.sink.problem(`malformed frame: ${frame.why}`);
        this.sink.reply(errorResponse(null, ErrorCodes.ParseError, `Parse error: ${frame.why}`));
        continue;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(frame.body.toString('utf8'));
      } catch {
        this.sink.problem(`malformed message: ${frame.body.length} bytes that are not JSON`);
        this.sink.reply(errorResponse(null, ErrorCodes.ParseError, 'Parse error: the message is not valid JSON'));
        // A Content-Length that was too long swallowed the start of the next frame: read it again.
        const at = indexOfHeader(frame.body);
        if (at >= 0) this.frames.unread(frame.body.subarray(at));
        continue;
      }
      const verdict = this.guard.check(msg);
      if (verdict.kind === 'pass') {
        this.push(Buffer.from(`Content-Length: ${frame.body.length}\r\n\r\n`, 'ascii'));
        this.push(frame.body);
      } else {
        report(verdict, this.sink);
      }
    }
  }
}

function report(verdict: Exclude<Verdict, { kind: 'pass' }>, sink: GuardSink): void {
  if (verdict.kind === 'drop') {
    sink.problem(`dropped: ${verdict.why}`);
    return;
  }
  sink.problem(`rejected (${verdict.code}): ${verdict.message}`);
  sink.reply(errorResponse(verdict.id, verdict.code, verdict.message));
}

/** A MessageReader that passes another reader's messages through the guard (node-ipc). */
export class GuardedReader extends AbstractMessageReader {
  private readonly guard = new MessageGuard();

  constructor(
    private readonly inner: MessageReader,
    private readonly sink: GuardSink,
  ) {
    super();
    inner.onError((e) => this.fireError(e));
    inner.onClose(() => this.fireClose());
    inner.onPartialMessage((p) => this.firePartialMessage(p));
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((msg) => {
      const verdict = this.guard.check(msg);
      if (verdict.kind === 'pass') callback(msg);
      else report(verdict, this.sink);
    });
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}

export interface Transport {
  input: MessageReader | NodeJS.ReadableStream;
  output: MessageWriter;
}

/**
 * The guarded transport for `--stdio` and `--node-ipc` (the ones Diffill's client and tests use);
 * undefined for the others (sockets, pipes), which the library sets up from argv as before.
 * `problem` receives the guard's reports.
 */
export function guardedTransport(argv: string[], problem: (message: string) => void): Transport | undefined {
  if (argv.includes('--stdio')) {
    const output = new StreamMessageWriter(process.stdout);
    const sink: GuardSink = { reply: (m) => void output.write(m).catch(() => undefined), problem };
    const input = new GuardedInput(sink);
    process.stdin.pipe(input);
    // With the library's stdio setup, console output is redirected off stdout; do the same here:
    // a stray console.log would corrupt the stream.
    for (const k of ['log', 'info', 'debug', 'warn', 'error', 'trace'] as const) {
      console[k] = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
    }
    return { input, output };
  }
  if (argv.includes('--node-ipc')) {
    const output = new IPCMessageWriter(process);
    const sink: GuardSink = { reply: (m) => void output.write(m).catch(() => undefined), problem };
    return { input: new GuardedReader(new IPCMessageReader(process), sink), output };
  }
  return undefined;
}

/**
 * A small LSP client over stdio for tests: spawns a server, frames JSON-RPC by hand (so tests can
 * also send malformed bytes), answers the server's own requests with null, and records
 * notifications. It stops only the process it started, by its PID.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export class RpcResponseError extends Error {
  constructor(readonly error: RpcError) {
    super(`${error.code}: ${error.message}`);
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface Notification {
  method: string;
  params: unknown;
}

export class LspClient {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly notifications: Notification[] = [];
  /** Responses that match no pending request (e.g. `id: null` errors for unparseable input). */
  readonly orphanResponses: Array<{ id: unknown; result?: unknown; error?: RpcError }> = [];
  /** Called for every response, in the order the server wrote them, before its promise settles. */
  onResponse: ((msg: { id: unknown; result?: unknown; error?: RpcError }) => void) | undefined;
  /** Requests the server sent (workDoneProgress/create, applyEdit, …), each answered with null. */
  readonly serverRequests: Notification[] = [];
  /** Everything the server wrote on stderr. */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number | string, Pending>();
  private readonly waiters = new Set<{ test: (n: Notification) => boolean; resolve: (n: Notification) => void }>();

  /** Spawns `node <serverPath> --stdio` (or other args). */
  static spawn(serverPath: string, args: string[] = ['--stdio'], env: NodeJS.ProcessEnv = process.env): LspClient {
    return new LspClient(spawn(process.execPath, [serverPath, ...args], { env, stdio: 'pipe' }));
  }

  constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc;
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    proc.stdin.on('error', () => undefined); // the server may be gone: the test sees it elsewhere
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`server exited while a request was pending\nstderr:\n${this.stderr}`));
      }
      this.pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends a request; returns its id at once and the answer as a promise. */
  send<T = unknown>(method: string, params?: unknown, timeoutMs = 30_000): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} (#${id}) got no answer in ${timeoutMs} ms\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
    this.write({ jsonrpc: '2.0', id, method, params });
    return { id, result };
  }

  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T> {
    return this.send<T>(method, params, timeoutMs).result;
  }

  notify(method: string, params?: unknown): void {
    this.write({ jsonrpc: '2.0', method, params });
  }

  cancel(id: number): void {
    this.notify('$/cancelRequest', { id });
  }

  /** Writes bytes as they are (for malformed-input tests). */
  writeRaw(data: string | Buffer): void {
    this.proc.stdin.write(data);
  }

  /** Resolves with the first notification (already received or future) that passes `test`. */
  waitForNotification(method: string, test: (params: any) => boolean = () => true, timeoutMs = 60_000): Promise<Notification> {
    const match = (n: Notification): boolean => n.method === method && test(n.params);
    const seen = this.notifications.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test: match,
        resolve: (n: Notification) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(n);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${method} notification in ${timeoutMs} ms; got ${JSON.stringify(this.notifications.filter((n) => n.method === method).slice(-5))}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** `initialize` + `initialized` with the inline-completion client capability. */
  async initialize(initializationOptions?: unknown): Promise<any> {
    const result = await this.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'diffill-protocol-test' },
      rootUri: null,
      capabilities: {
        textDocument: {
          synchronization: { dynamicRegistration: false },
          inlineCompletion: { dynamicRegistration: false },
        },
        window: { workDoneProgress: true },
      },
      initializationOptions,
    });
    this.notify('initialized', {});
    return result;
  }

  /** `shutdown` then `exit`; resolves with the exit code (kills by PID if it hangs). */
  async shutdownAndExit(timeoutMs = 10_000): Promise<number | null> {
    await this.request('shutdown', null, timeoutMs);
    this.notify('exit');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Stops the process this client started, if it still runs. */
  kill(): void {
    if (this.alive && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private write(msg: unknown): void {
    const body = Buffer.from(JSON.stringify(msg), 'utf8');
    this.proc.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const m = /Content-Length:\s*(\d+)/i.exec(header);
      if (!m) throw new Error(`bad header from server: ${header}`);
      const length = Number(m[1]);
      const start = headerEnd + 4;
      if (this.buffer.length < start + length) return;
      const body = this.buffer.subarray(start, start + length).toString('utf8');
      this.buffer = this.buffer.subarray(start + length);
      this.dispatch(JSON.parse(body));
    }
  }

  private dispatch(msg: any): void {
    if (msg.id !== undefined && msg.method !== undefined) {
      // A request from the server (registerCapability, workDoneProgress/create, …): accept it.
      this.serverRequests.push({ method: msg.method, params: msg.params });
      this.write({ jsonrpc: '2.0', id: msg.id, result: null });
      return;
    }
    if (msg.id !== undefined) {
      this.onResponse?.(msg);
      const p = this.pending.get(msg.id);
      if (!p) {
        this.orphanResponses.push(msg);
        return;
      }
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new RpcResponseError(msg.error));
      else p.resolve(msg.result);
      return;
    }
    const n: Notification = { method: msg.method, params: msg.params };
    this.notifications.push(n);
    for (const w of [...this.waiters]) if (w.test(n)) w.resolve(n);
  }
}

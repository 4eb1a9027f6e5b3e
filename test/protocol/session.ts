/**
 * Shared by the reliability, fault, privacy and storm tests: where the server and the model are,
 * why a suite skips, and the few LSP calls they all make.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findEmbeddedModel } from '../../server/src/engineHost';
import { DEFAULT_SETTINGS, type DiffillSettings, type StatusParams } from '../../server/src/protocol';
import { LspClient, RpcResponseError } from './lspClient';

export const ROOT = path.resolve(__dirname, '..', '..');
/** DIFFILL_SERVER=/abs/extension/dist/server.js tests another build (say, one unpacked from a .vsix). */
export const SERVER = process.env.DIFFILL_SERVER ? path.resolve(process.env.DIFFILL_SERVER) : path.join(ROOT, 'dist', 'server.js');
/** DIFFILL_TEST_MODEL=/abs/model/dir runs on another model than the shipped one. */
export const OTHER_MODEL = process.env.DIFFILL_TEST_MODEL ? path.resolve(process.env.DIFFILL_TEST_MODEL) : undefined;
export const MODEL = OTHER_MODEL ?? findEmbeddedModel(path.join(path.dirname(SERVER), '..', 'models'));

/** Why the suites that need the server (and the real model) skip, or false. */
export const noServer: string | false = existsSync(SERVER) ? false : `${path.relative(ROOT, SERVER)} is not built: run \`npm run build\``;
export const noModel: string | false =
  MODEL && existsSync(path.join(MODEL, 'model.onnx')) ? false : 'no model: no models/<name>/model.onnx (set DIFFILL_TEST_MODEL or ship one)';
export const skipReason: string | false = noServer || noModel;

/** Prints why a test file skips, once. */
export function announceSkip(what: string): void {
  if (skipReason) console.log(`# ${what} skipped: ${skipReason}`);
}

export const REQUEST_CANCELLED = -32800;

export interface Item {
  insertText: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
}
export type InlineResult = Item[] | { items: Item[] } | null;

export function settingsWith(over: Partial<DiffillSettings> = {}): DiffillSettings {
  return { ...DEFAULT_SETTINGS, modelPath: OTHER_MODEL ?? '', ...over };
}

export function open(c: LspClient, uri: string, text: string, languageId = 'python', version = 1): void {
  c.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
}

export function inline(c: LspClient, uri: string, line: number, character: number, timeoutMs = 60_000) {
  return c.send<InlineResult>(
    'textDocument/inlineCompletion',
    { textDocument: { uri }, position: { line, character }, context: { triggerKind: 2 } },
    timeoutMs,
  );
}

export function items(result: InlineResult): Item[] {
  if (result === null) return [];
  return Array.isArray(result) ? result : result.items;
}

/** The items, 'cancelled' for a RequestCancelled error; other errors throw. */
export async function settle(p: Promise<InlineResult>): Promise<Item[] | 'cancelled'> {
  try {
    return items(await p);
  } catch (err) {
    if (err instanceof RpcResponseError && err.error.code === REQUEST_CANCELLED) return 'cancelled';
    throw err;
  }
}

/** Spawns the server, initializes it with `settings`, waits until the model is ready (or failed). */
export async function startReady(
  settings: DiffillSettings = settingsWith(),
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<{ c: LspClient; status: StatusParams }> {
  const c = LspClient.spawn(SERVER, ['--stdio'], env);
  await c.initialize({ settings });
  const n = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', timeoutMs);
  return { c, status: n.params as StatusParams };
}

/** Waits for a diffill/status notification sent after notification index `from` that passes `test`. */
export async function statusAfter(c: LspClient, from: number, test: (p: StatusParams) => boolean, timeoutMs = 30_000): Promise<StatusParams> {
  const t0 = Date.now();
  for (;;) {
    const hit = c.notifications.slice(from).find((n) => n.method === 'diffill/status' && test(n.params as StatusParams));
    if (hit) return hit.params as StatusParams;
    if (Date.now() - t0 > timeoutMs) {
      const seen = c.notifications.slice(from).filter((n) => n.method === 'diffill/status').map((n) => JSON.stringify(n.params));
      throw new Error(`no matching diffill/status in ${timeoutMs} ms; saw:\n${seen.join('\n')}\nstderr:\n${c.stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** window/logMessage lines from notification index `from` on, with their type (1 error … 4 log). */
export function logSince(c: LspClient, from = 0): Array<{ type: number; message: string }> {
  return c.notifications
    .slice(from)
    .filter((n) => n.method === 'window/logMessage')
    .map((n) => n.params as { type: number; message: string });
}

/** Resident memory of a process in KiB (Linux), or undefined elsewhere. */
export function rssKiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A Python document whose last line asks for a completion (line, character at its end). */
export const PROBE_PY = 'import math\n\n\ndef area_of_circle(radius):\n    return math.pi * radius ** 2\n\n\ndef fibonacci(n):\n    if n < 2:\n        return n\n    return \n';
export const PROBE_AT = { line: 10, character: 11 };

/**
 * The server still serves: a fresh document gets a normal answer from the model (an array; the
 * checkpoint's text quality is not the point here).
 */
export async function stillServes(c: LspClient, tag: string): Promise<Item[]> {
  const uri = `file:///work/probe-${tag}-${Date.now()}.py`;
  open(c, uri, PROBE_PY);
  const got = await settle(inline(c, uri, PROBE_AT.line, PROBE_AT.character, 30_000).result);
  c.notify('textDocument/didClose', { textDocument: { uri } });
  if (got === 'cancelled') throw new Error(`probe ${tag} was cancelled`);
  return got;
}

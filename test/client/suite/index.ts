/**
 * Runs inside VS Code (launched by @vscode/test-electron from ../vscode.test.ts): activation,
 * commands, the status bar state, and an inline completion through the real LanguageClient.
 * A tiny runner instead of mocha: each test is a function; failures are collected and thrown.
 */
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { Ctx } from '../../../client/src/ctx';

const EXTENSION_ID = 'diffill.diffill';

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let ctx: Ctx;
let doc: vscode.TextDocument;

const tests: Array<[string, () => Promise<void>]> = [
  [
    'activates when a Python document opens',
    async () => {
      doc = await vscode.workspace.openTextDocument({
        language: 'python',
        content: 'def fibonacci(n):\n    if n < 2:\n        return n\n    return \n',
      });
      await vscode.window.showTextDocument(doc);
      const ext = vscode.extensions.getExtension<Ctx>(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is installed`);
      await waitFor('activation', () => ext.isActive, 30_000);
      ctx = ext.exports;
      assert.ok(ctx.client);
    },
  ],
  [
    'registers its commands',
    async () => {
      const all = await vscode.commands.getCommands(true);
      for (const id of ['diffill.toggle', 'diffill.showLog', 'diffill.statusMenu']) assert.ok(all.includes(id), id);
    },
  ],
  [
    'the status bar leaves "loading" (ready with a model, error without)',
    async () => {
      const state = await waitFor('a settled status', () => {
        const s = ctx.status.current.state;
        return s === 'ready' || s === 'error' ? s : undefined;
      });
      assert.ok(state === 'ready' || state === 'error');
    },
  ],
  [
    'inline completion through the LanguageClient',
    async () => {
      if (ctx.status.current.state !== 'ready') return; // no model: covered by the protocol tests
      const result = await ctx.client.sendRequest<Array<{ insertText: string }> | null>('textDocument/inlineCompletion', {
        textDocument: { uri: doc.uri.toString() },
        position: { line: 3, character: 11 },
        context: { triggerKind: 1 },
      });
      assert.ok(Array.isArray(result));
    },
  ],
  [
    'diffill.toggle turns completions off and on',
    async () => {
      if (ctx.status.current.state === 'error') return;
      await vscode.commands.executeCommand('diffill.toggle');
      await waitFor('disabled', () => ctx.status.current.state === 'disabled', 10_000);
      await vscode.commands.executeCommand('diffill.toggle');
      await waitFor('enabled again', () => ctx.status.current.state !== 'disabled', 10_000);
    },
  ],
];

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`  ✔ ${name}`);
    } catch (err) {
      console.log(`  ✖ ${name}: ${err instanceof Error ? err.stack : String(err)}`);
      failures.push(name);
    }
  }
  if (failures.length > 0) throw new Error(`${failures.length} VS Code test(s) failed: ${failures.join('; ')}`);
}

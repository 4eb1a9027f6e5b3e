/**
 * Faults, on the real server and model: a model folder that goes missing, truncated or not ONNX
 * while the server runs (clear error in diffill/status and the log, empty completions, the server
 * up, recovery once the files are fixed); an ONNX Runtime failure during one request
 * (DIFFILL_FAULT=ort-once); and a client that disappears (the server does not linger).
 * The client's restart-with-a-cap is unit-tested in test/unit/restartPolicy.test.ts.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StatusParams } from '../../server/src/protocol';
import { LspClient } from './lspClient';
import { MODEL, SERVER, announceSkip, logSince, settingsWith, skipReason, startReady, statusAfter, stillServes } from './session';

announceSkip('fault tests');

const MODEL_FILES = ['model.onnx', 'tokenizer.json', 'config.json'];

/** Replaces a file the way a careful copy does: write aside, then rename over. */
function restore(dir: string, file: string): void {
  copyFileSync(path.join(MODEL!, file), path.join(dir, `${file}.part`));
  renameSync(path.join(dir, `${file}.part`), path.join(dir, file));
}

describe('model files broken and fixed while the server runs', { skip: skipReason, timeout: 300_000 }, () => {
  let dir: string;
  let c: LspClient;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'diffill-fault-model-'));
    for (const f of MODEL_FILES) copyFileSync(path.join(MODEL!, f), path.join(dir, f));
    // modelPath is machine-scoped: the client sends it in initializationOptions (and didChangeConfiguration).
    const started = await startReady(settingsWith({ modelPath: dir, latencyBudgetMs: 2000 }));
    c = started.c;
    assert.equal(started.status.state, 'ready', JSON.stringify(started.status));
    assert.ok((await stillServes(c, 'start')).length > 0, 'the copied model completes');
  });
  after(() => {
    c?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const faults: Array<{ name: string; file: string; apply: () => void; expect: RegExp }> = [
    { name: 'model.onnx truncated in place (a download cut short)', file: 'model.onnx', apply: () => truncateSync(path.join(dir, 'model.onnx'), 1 << 20), expect: /model \S+ failed to load: .*(protobuf|Protobuf|parse|load)/i },
    { name: 'model.onnx not ONNX at all', file: 'model.onnx', apply: () => writeFileSync(path.join(dir, 'model.onnx'), 'this is not an ONNX model\n'), expect: /failed to load/ },
    { name: 'model.onnx missing', file: 'model.onnx', apply: () => rmSync(path.join(dir, 'model.onnx')), expect: /lacks model\.onnx/ },
    { name: 'model.onnx empty', file: 'model.onnx', apply: () => writeFileSync(path.join(dir, 'model.onnx'), ''), expect: /failed to load/ },
    { name: 'tokenizer.json corrupt', file: 'tokenizer.json', apply: () => writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": '), expect: /failed to load/ },
    { name: 'config.json not a Diffill config', file: 'config.json', apply: () => writeFileSync(path.join(dir, 'config.json'), '{"name": "x"}'), expect: /failed to load: .*config/ },
  ];

  for (const f of faults) {
    test(`${f.name}: error in status and log, empty completions, server up; fixed: ready again`, async () => {
      const mark = c.notifications.length;
      f.apply();
      const err = await statusAfter(c, mark, (p) => p.state === 'error', 30_000);
      assert.match(err.message ?? '', f.expect, `status: ${JSON.stringify(err)}`);
      const errors = logSince(c, mark).filter((l) => l.type === 1).map((l) => l.message);
      assert.ok(errors.some((m) => m.includes(err.message!)), `the log has the error:\n${errors.join('\n')}`);
      assert.deepEqual(await stillServes(c, `${f.file}-broken`), [], 'completions are off');
      assert.ok(c.alive);

      const fixed = c.notifications.length;
      restore(dir, f.file);
      const ok = await statusAfter(c, fixed, (p) => p.state === 'ready' || p.state === 'error', 30_000);
      assert.equal(ok.state, 'ready', `recovered: ${JSON.stringify(ok)}`);
      assert.ok((await stillServes(c, `${f.file}-fixed`)).length > 0, 'completions are back');
    });
  }

  test('shuts down cleanly after all that', async () => {
    assert.equal(await c.shutdownAndExit(), 0);
  });
});

describe('a model folder that does not exist yet', { skip: skipReason, timeout: 120_000 }, () => {
  test('is an error until it is created, then loads', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'diffill-fault-later-'));
    const dir = path.join(parent, 'model');
    const { c, status } = await startReady(settingsWith({ modelPath: dir }));
    try {
      assert.equal(status.state, 'error');
      assert.match(status.message ?? '', /does not exist/);
      const mark = c.notifications.length;
      const staging = path.join(parent, 'staging');
      mkdirSync(staging);
      for (const f of MODEL_FILES) copyFileSync(path.join(MODEL!, f), path.join(staging, f));
      renameSync(staging, dir);
      const ok = await statusAfter(c, mark, (p) => p.state === 'ready', 30_000);
      assert.equal(ok.state, 'ready');
      assert.equal(await c.shutdownAndExit(), 0);
    } finally {
      c.kill();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('an ONNX Runtime failure during a request (DIFFILL_FAULT=ort-once)', { skip: skipReason, timeout: 120_000 }, () => {
  test('that request gets an empty answer and a logged error; the next one works', async () => {
    const { c, status } = await startReady(settingsWith({ latencyBudgetMs: 2000 }), { ...process.env, DIFFILL_FAULT: 'ort-once' });
    try {
      assert.equal(status.state, 'ready');
      assert.match(c.stderr, /DIFFILL_FAULT: injecting ort-once/);
      const mark = c.notifications.length;
      assert.deepEqual(await stillServes(c, 'ort-fails'), [], 'the failed request is answered empty');
      const log = logSince(c, mark);
      assert.ok(log.some((l) => l.type === 1 && /engine\.fill failed: .*ONNX Runtime/.test(l.message)), `logged:\n${log.map((l) => l.message).join('\n')}`);
      const state = c.notifications.slice(mark).filter((n) => n.method === 'diffill/status').map((n) => (n.params as StatusParams).state);
      assert.ok(!state.includes('error'), 'one failed run does not turn the model off');
      assert.ok((await stillServes(c, 'ort-next')).length > 0, 'the next request is answered by the model');
      assert.equal(await c.shutdownAndExit(), 0);
    } finally {
      c.kill();
    }
  });
});

describe('the client goes away', { skip: skipReason, timeout: 60_000 }, () => {
  test('stdin closed without shutdown: the server exits (code 1) instead of lingering', async () => {
    const { c } = await startReady();
    c.proc.stdin.end();
    const timer = setTimeout(() => c.kill(), 10_000);
    const { code } = await c.exited;
    clearTimeout(timer);
    assert.equal(code, 1);
  });

  test('the editor process named in initialize dies: the server exits within seconds', async () => {
    const editor = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const c = LspClient.spawn(SERVER);
    try {
      await c.request('initialize', { processId: editor.pid, rootUri: null, capabilities: {}, initializationOptions: { settings: settingsWith() } });
      c.notify('initialized', {});
      process.kill(editor.pid!, 'SIGKILL');
      const t0 = Date.now();
      const timer = setTimeout(() => c.kill(), 15_000);
      await c.exited;
      clearTimeout(timer);
      assert.ok(Date.now() - t0 < 10_000, `exited after ${Date.now() - t0} ms`);
    } finally {
      c.kill();
      if (editor.exitCode === null) editor.kill('SIGKILL');
    }
  });
});

/**
 * Privacy and trust: a whole session on the default configuration with the network made to fail
 * (and every attempt recorded) makes no attempt; the log never holds document text unless
 * diffill.verboseLogging is on; settings of the wrong type or out of range are not trusted.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_SETTINGS, SETTING_LIMITS, normalizeSettings, type StatusParams } from '../../server/src/protocol';
import { LspClient } from './lspClient';
import { PROBE_AT, PROBE_PY, SERVER, announceSkip, inline, open, settingsWith, settle, skipReason, statusAfter, stillServes } from './session';

announceSkip('privacy tests');

const PRELOAD = path.join(__dirname, 'noNetwork.cjs');
const work = mkdtempSync(path.join(tmpdir(), 'diffill-privacy-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** strace, when this machine lets us trace: it also sees sockets opened by native code. */
const strace = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']).status === 0;
if (!strace) console.log('# privacy: strace unavailable here; the network check relies on the Node-level trap alone');

/** Starts the server with the network trap preloaded (under strace when available). */
function spawnTrapped(netLog: string, syscalls: string, env: NodeJS.ProcessEnv = {}): LspClient {
  const node = [process.execPath, '--require', PRELOAD, SERVER, '--stdio'];
  const cmd = strace ? ['strace', '-f', '-qq', '--seccomp-bpf', '-e', 'trace=socket,connect,sendto,sendmsg', '-o', syscalls, ...node] : node;
  return new LspClient(spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env, DIFFILL_NET_LOG: netLog }, stdio: 'pipe' }));
}

/** Socket syscalls that could reach a network (not Unix sockets). */
function networkSyscalls(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /\b(socket|connect|sendto|sendmsg)\(/.test(l))
    .filter((l) => !/AF_UNIX|AF_LOCAL|AF_NETLINK/.test(l))
    .filter((l) => !/^\d+\s+(sendto|sendmsg)\(\d+, .*, NULL, 0\)/.test(l)); // writes on an already connected (stdio) socket
}

const MARKER = 'zq_private_7c1e9f';
const SECRET_PY = `import os\n\n\ndef ${MARKER}(path):\n    """Read ${MARKER} settings."""\n    with open(path) as f:\n        return \n`;
const SECRET_AT = { line: 6, character: 15 };
const SECRET_TS = `export function ${MARKER}(items: number[]): number {\n  let total = 0;\n  for (const x of items) {\n    total += \n`;

describe('no network', { skip: skipReason, timeout: 180_000 }, () => {
  test('the trap works: an attempt from a preloaded process is recorded', () => {
    const log = path.join(work, 'trap-selftest.jsonl');
    const r = spawnSync(process.execPath, ['--require', PRELOAD, '-e', "try { require('node:net').connect(443, 'example.com') } catch {} try { fetch('https://example.com') } catch {}"], {
      env: { ...process.env, DIFFILL_NET_LOG: log },
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const attempts = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).what);
    assert.deepEqual(attempts, ['net.connect', 'fetch']);
  });

  test('a full session on the default configuration makes zero network attempts', async () => {
    const netLog = path.join(work, 'net.jsonl');
    const syscalls = path.join(work, 'strace.txt');
    const c = spawnTrapped(netLog, syscalls);
    try {
      await c.initialize({ settings: DEFAULT_SETTINGS });
      const ready = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', 120_000);
      assert.equal((ready.params as StatusParams).state, 'ready', `${JSON.stringify(ready.params)}\n${c.stderr}`);
      open(c, 'file:///work/secret.py', SECRET_PY);
      open(c, 'file:///work/secret.ts', SECRET_TS, 'typescript');
      const got = await settle(inline(c, 'file:///work/secret.py', SECRET_AT.line, SECRET_AT.character).result);
      assert.ok(Array.isArray(got));
      assert.ok(Array.isArray(await settle(inline(c, 'file:///work/secret.ts', 3, 13).result)));
      const cancelled = inline(c, 'file:///work/secret.ts', 3, 13);
      c.cancel(cancelled.id);
      await settle(cancelled.result);
      c.notify('textDocument/didChange', {
        textDocument: { uri: 'file:///work/secret.py', version: 2 },
        contentChanges: [{ range: { start: SECRET_AT, end: SECRET_AT }, text: 'f.read()' }],
      });
      c.notify('textDocument/didClose', { textDocument: { uri: 'file:///work/secret.py' } });
      assert.ok(Array.isArray(await stillServes(c, 'net')));
      assert.equal(await c.shutdownAndExit(30_000), 0);
    } finally {
      c.kill();
    }
    const attempts = existsSync(netLog) ? readFileSync(netLog, 'utf8').trim() : '';
    assert.equal(attempts, '', `network attempts from Node code:\n${attempts}`);
    if (strace) {
      assert.ok(existsSync(syscalls), 'strace wrote its trace');
      assert.deepEqual(networkSyscalls(syscalls), [], 'no network socket from native code either');
    }
  });
});

/** Everything the server told the outside world other than answers: log lines, messages, traces, stderr. */
function everythingLogged(c: LspClient): string {
  const said = c.notifications.filter((n) => n.method !== 'diffill/status').map((n) => JSON.stringify(n.params));
  return [...said, c.stderr].join('\n');
}

describe('the log holds no document text unless verbose logging is on', { skip: skipReason, timeout: 180_000 }, () => {
  test('default: the marker never appears, through completions, cancellations, errors and refused input; verbose: it does', async () => {
    // Settings of the wrong types: 'true' as a string does not turn verbose logging on.
    const bad = { enable: 'yes', latencyBudgetMs: 'fast', debounceMs: -50, maxContextTokens: 1e12, threads: 'many', languages: [true], verboseLogging: 'true', modelPath: 42 };
    const c = LspClient.spawn(SERVER, ['--stdio'], { ...process.env, DIFFILL_FAULT: 'ort-once' });
    try {
      await c.initialize({ settings: bad });
      const ready = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', 120_000);
      assert.equal((ready.params as StatusParams).state, 'ready', 'garbage settings fall back to the defaults');

      open(c, 'file:///work/secret.py', SECRET_PY);
      open(c, 'file:///work/secret.ts', SECRET_TS, 'typescript');
      // The first fill fails (DIFFILL_FAULT=ort-once): the error path is logged.
      assert.deepEqual(await settle(inline(c, 'file:///work/secret.py', SECRET_AT.line, SECRET_AT.character).result), []);
      const answered = await settle(inline(c, 'file:///work/secret.py', SECRET_AT.line, SECRET_AT.character).result);
      assert.ok(Array.isArray(answered));
      assert.ok(Array.isArray(await settle(inline(c, 'file:///work/secret.ts', 3, 13).result)));
      const cancelled = inline(c, 'file:///work/secret.ts', 3, 13);
      c.cancel(cancelled.id);
      await settle(cancelled.result);
      // Refused input that carries the marker: bad JSON, a bad envelope, a bad edit, a bad didOpen.
      const body = Buffer.from(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"text":"${MARKER}"`);
      c.writeRaw(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
      c.notify('textDocument/didChange', {
        textDocument: { uri: 'file:///work/secret.ts', version: 2 },
        contentChanges: [{ range: { start: { line: 'x', character: 0 }, end: { line: 0, character: 0 } }, text: MARKER }],
      });
      await c.request('textDocument/inlineCompletion', [MARKER]).catch(() => undefined);
      await c.request(MARKER, { text: MARKER }).catch(() => undefined);
      assert.ok(Array.isArray(await stillServes(c, 'quiet')));

      const quiet = everythingLogged(c);
      assert.match(quiet, /engine\.fill failed/, 'the error path ran');
      assert.match(quiet, /inlineCompletion model/, 'the model answered at least once');
      assert.ok(!quiet.includes(MARKER), `document text in the log:\n${quiet.split('\n').filter((l) => l.includes(MARKER)).join('\n')}`);

      // The user turns verbose logging on: now the text around the cursor is logged.
      const mark = c.notifications.length;
      c.notify('workspace/didChangeConfiguration', { settings: { diffill: { ...DEFAULT_SETTINGS, verboseLogging: true } } });
      // (Different text, so the answer is not served from the cache without running the model.)
      open(c, 'file:///work/secret2.py', SECRET_PY.replace('with open(path) as f:', 'with open(path, "rb") as f:'));
      await settle(inline(c, 'file:///work/secret2.py', SECRET_AT.line, SECRET_AT.character).result);
      const verbose = c.notifications.slice(mark).filter((n) => n.method === 'window/logMessage').map((n) => JSON.stringify(n.params)).join('\n');
      assert.ok(verbose.includes(MARKER), `verbose logging shows the text:\n${verbose}`);
      assert.equal(await c.shutdownAndExit(), 0);
    } finally {
      c.kill();
    }
  });
});

describe('settings are validated', { skip: skipReason, timeout: 120_000 }, () => {
  test('a relative diffill.modelPath is an error in the status, not a path resolved against anything', async () => {
    const c = LspClient.spawn(SERVER);
    try {
      await c.initialize({ settings: settingsWith() });
      await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready', 120_000);
      for (const modelPath of ['models/diffill-code-29m', './model', '..', 'model.onnx']) {
        const mark = c.notifications.length;
        c.notify('workspace/didChangeConfiguration', { settings: { diffill: settingsWith({ modelPath }) } });
        const err = await statusAfter(c, mark, (p) => p.state === 'error', 10_000);
        assert.match(err.message ?? '', /must be an absolute path/, modelPath);
        assert.deepEqual(await stillServes(c, 'relative'), [], 'completions are off');
      }
      const mark = c.notifications.length;
      c.notify('workspace/didChangeConfiguration', { settings: { diffill: settingsWith() } });
      await statusAfter(c, mark, (p) => p.state === 'ready', 60_000);
      open(c, 'file:///work/back.py', PROBE_PY);
      assert.ok(Array.isArray(await settle(inline(c, 'file:///work/back.py', PROBE_AT.line, PROBE_AT.character).result)));
      assert.equal(await c.shutdownAndExit(), 0);
    } finally {
      c.kill();
    }
  });

  test('numbers are clamped, wrong types ignored (normalizeSettings, shared by client and server)', () => {
    const s = normalizeSettings({
      enable: 1,
      latencyBudgetMs: 1e9,
      debounceMs: -1,
      maxContextTokens: '4096',
      threads: 3.7,
      verboseLogging: 'yes',
      modelPath: ['x'],
      languages: 'python',
      commandTimeoutFactor: Infinity,
    });
    assert.equal(s.enable, true);
    assert.equal(s.latencyBudgetMs, SETTING_LIMITS.latencyBudgetMs.max);
    assert.equal(s.debounceMs, SETTING_LIMITS.debounceMs.min);
    assert.equal(s.maxContextTokens, DEFAULT_SETTINGS.maxContextTokens);
    assert.equal(s.threads, 4);
    assert.equal(s.verboseLogging, false, 'only a real true turns verbose logging on');
    assert.equal(s.modelPath, '');
    assert.deepEqual(s.languages, DEFAULT_SETTINGS.languages);
    assert.equal(s.commandTimeoutFactor, DEFAULT_SETTINGS.commandTimeoutFactor);
    assert.equal(normalizeSettings({ modelPath: '  /abs/model  ' }).modelPath, '/abs/model');
  });

  test('diffill.modelPath is machine-scoped in the manifest (a workspace cannot point it elsewhere)', () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    assert.equal(manifest.contributes.configuration.properties['diffill.modelPath'].scope, 'machine');
  });
});

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { EngineHost, type EngineState, modelFingerprint } from '../../server/src/engineHost';
import { silentLogger } from '../../server/src/log';
import { scriptedEngine } from './engineDouble';

const root = mkdtempSync(path.join(tmpdir(), 'diffill-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeModel(dir: string, onnx = 'GOOD'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), onnx);
  writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  writeFileSync(path.join(dir, 'config.json'), '{}');
}

/** A host whose "engine" loads only when model.onnx says GOOD, watching fast. */
function host() {
  const states: EngineState[] = [];
  let loads = 0;
  const h = new EngineHost(
    async (o) => {
      loads++;
      const bytes = readFileSync(path.join(o.modelDir, 'model.onnx'), 'utf8');
      if (bytes !== 'GOOD') throw new Error('Load model failed: Protobuf parsing failed');
      return scriptedEngine(() => '');
    },
    root,
    silentLogger,
    (s, swapped) => {
      if (!swapped) states.push(s);
    },
  );
  h.watch({ pollMs: 40, settleMs: 30 });
  const until = async (phase: EngineState['phase'], what: string) => {
    const t0 = Date.now();
    while (h.state.phase !== phase) {
      if (Date.now() - t0 > 5000) assert.fail(`${what}: still ${JSON.stringify(h.state)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { h, states, until, loads: () => loads };
}

describe('EngineHost watches the model files', () => {
  test('fingerprint changes with size, replacement and removal', () => {
    const dir = path.join(root, 'fp');
    writeModel(dir);
    const a = modelFingerprint(dir);
    assert.equal(modelFingerprint(dir), a, 'stable');
    writeFileSync(path.join(dir, 'model.onnx'), 'GOOD!');
    const b = modelFingerprint(dir);
    assert.notEqual(b, a);
    rmSync(path.join(dir, 'model.onnx'));
    assert.match(modelFingerprint(dir), /^-\|/);
  });

  test('corrupted → error; fixed → ready; removed → error; restored → ready', async () => {
    const dir = path.join(root, 'm1');
    writeModel(dir);
    const { h, until } = host();
    await h.configure({ modelPath: dir, threads: 0, maxContextTokens: 768 });
    assert.equal(h.state.phase, 'ready');

    writeFileSync(path.join(dir, 'model.onnx'), 'GOO'); // truncated in place
    await until('error', 'truncated');
    assert.match(h.state.message ?? '', /failed to load: .*Protobuf/);
    assert.equal(h.current(), undefined, 'completions off');

    writeFileSync(path.join(dir, 'model.onnx.tmp'), 'GOOD');
    renameSync(path.join(dir, 'model.onnx.tmp'), path.join(dir, 'model.onnx')); // fixed atomically
    await until('ready', 'fixed');
    assert.ok(h.current());

    rmSync(path.join(dir, 'model.onnx'));
    await until('error', 'removed');
    assert.match(h.state.message ?? '', /lacks model\.onnx/);

    writeFileSync(path.join(dir, 'model.onnx'), 'GOOD');
    await until('ready', 'restored');
    await h.dispose();
  });

  test('a model folder that does not exist yet is picked up when it appears', async () => {
    const dir = path.join(root, 'later', 'm2');
    const { h, until } = host();
    await h.configure({ modelPath: dir, threads: 0, maxContextTokens: 768 });
    assert.match(h.state.message ?? '', /does not exist/);
    writeModel(dir);
    await until('ready', 'created');
    await h.dispose();
  });

  test('unchanged files never reload; a copy in progress loads once it settled', async () => {
    const dir = path.join(root, 'm3');
    writeModel(dir);
    const { h, until, loads } = host();
    await h.configure({ modelPath: dir, threads: 0, maxContextTokens: 768 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(loads(), 1, 'polls alone do not reload');
    // Written in pieces, each within the settle time: one reload at the end.
    for (const part of ['G', 'GO', 'GOO', 'GOOD']) {
      writeFileSync(path.join(dir, 'model.onnx'), part);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until('ready', 'settled');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(h.state.phase, 'ready');
    assert.ok(loads() <= 3, `few reloads: ${loads()}`);
    await h.dispose();
  });
});

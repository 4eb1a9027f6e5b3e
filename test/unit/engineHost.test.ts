import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { EngineOptions } from '../../engine/src/types';
import { type EngineState, EngineHost, findEmbeddedModel, resolveModelDir } from '../../server/src/engineHost';
import { silentLogger } from '../../server/src/log';
import { scriptedEngine } from './engineDouble';

const root = mkdtempSync(path.join(tmpdir(), 'diffill-models-'));
after(() => rmSync(root, { recursive: true, force: true }));

function modelDir(name: string, files = ['model.onnx', 'tokenizer.json', 'config.json']): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(path.join(dir, f), '');
  return dir;
}

describe('model folder resolution', () => {
  test('the first folder with a model.onnx, by name', () => {
    modelDir('b-model');
    modelDir('a-empty', []);
    modelDir('c-model');
    assert.equal(findEmbeddedModel(root), path.join(root, 'b-model'));
    assert.deepEqual(resolveModelDir('', root), { dir: path.join(root, 'b-model') });
  });
  test('no models → an error that names the folder', () => {
    const r = resolveModelDir('', path.join(root, 'nope'));
    assert.ok('error' in r && r.error.includes('nope'));
  });
  test('modelPath: absolute folder or its model.onnx; relative or incomplete is refused', () => {
    const dir = modelDir('custom');
    assert.deepEqual(resolveModelDir(dir, root), { dir });
    assert.deepEqual(resolveModelDir(path.join(dir, 'model.onnx'), root), { dir });
    assert.ok('error' in resolveModelDir('models/custom', root));
    assert.ok('error' in resolveModelDir(path.join(root, 'missing'), root));
    const partial = modelDir('partial', ['model.onnx']);
    const r = resolveModelDir(partial, root);
    assert.ok('error' in r && r.error.includes('tokenizer.json'));
  });
});

describe('EngineHost', () => {
  test('loads in the background, reports loading then ready', async () => {
    const states: EngineState[] = [];
    const seen: EngineOptions[] = [];
    const host = new EngineHost(
      async (o) => {
        seen.push(o);
        o.onProgress?.(0.5, 'half');
        return scriptedEngine(() => '');
      },
      root,
      silentLogger,
      (s, swapped) => {
        if (!swapped) states.push(s);
      },
    );
    await host.configure({ modelPath: '', threads: 0, maxContextTokens: 512 });
    assert.ok(host.current());
    assert.equal(seen[0].maxContextTokens, 512);
    assert.equal(seen[0].threads, undefined);
    assert.deepEqual(states.map((s) => s.phase), ['loading', 'loading', 'ready']);
    assert.equal(states[1].progress, 0.5);
  });

  test('a load failure leaves no engine and an error state; retry recovers', async () => {
    let fail = true;
    const host = new EngineHost(
      async () => {
        if (fail) throw new Error('not an ONNX file');
        return scriptedEngine(() => '');
      },
      root,
      silentLogger,
      () => undefined,
    );
    const settings = { modelPath: '', threads: 0, maxContextTokens: 768 };
    await host.configure(settings);
    assert.equal(host.current(), undefined);
    assert.equal(host.state.phase, 'error');
    assert.match(host.state.message ?? '', /not an ONNX file/);
    fail = false;
    await host.configure(settings); // same settings: no reload by itself
    assert.equal(host.state.phase, 'error');
    await host.retry(settings);
    assert.equal(host.state.phase, 'ready');
  });

  test('changing threads reloads and disposes the old engine; the same settings do not', async () => {
    const engines = [scriptedEngine(() => '', { name: 'one' }), scriptedEngine(() => '', { name: 'two' })];
    let loads = 0;
    const host = new EngineHost(async () => engines[loads++], root, silentLogger, () => undefined);
    await host.configure({ modelPath: '', threads: 0, maxContextTokens: 768 });
    await host.configure({ modelPath: '', threads: 0, maxContextTokens: 768 });
    assert.equal(loads, 1);
    await host.configure({ modelPath: '', threads: 2, maxContextTokens: 768 });
    assert.equal(loads, 2);
    assert.equal(host.current()?.info.modelName, 'two');
    assert.equal(engines[0].disposed, true);
  });

  test('a slow load overtaken by a newer one is discarded', async () => {
    const slow = scriptedEngine(() => '', { name: 'slow' });
    const fast = scriptedEngine(() => '', { name: 'fast' });
    const host = new EngineHost(
      async (o) => {
        if (o.threads === 1) {
          await new Promise((r) => setTimeout(r, 30));
          return slow;
        }
        return fast;
      },
      root,
      silentLogger,
      () => undefined,
    );
    const first = host.configure({ modelPath: '', threads: 1, maxContextTokens: 768 });
    const second = host.configure({ modelPath: '', threads: 2, maxContextTokens: 768 });
    await Promise.all([first, second]);
    assert.equal(host.current()?.info.modelName, 'fast');
    assert.equal(slow.disposed, true);
  });

  test('a missing model folder is an error, not a crash', async () => {
    const host = new EngineHost(async () => scriptedEngine(() => ''), path.join(root, 'empty-root'), silentLogger, () => undefined);
    await host.configure({ modelPath: '', threads: 0, maxContextTokens: 768 });
    assert.equal(host.state.phase, 'error');
  });
});

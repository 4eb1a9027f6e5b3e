import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, test } from 'node:test';

// scripts/dedupe-tasks.mjs keeps a new held-out set from counting a task that an older set (pooled
// with it by compare-evals) already holds.
const script = path.join(__dirname, '..', '..', 'scripts', 'dedupe-tasks.mjs');

const task = (id: string, lang: string, prefix: string, target: string, suffix: string) => ({ task_id: id, lang, kind: 'line', mode: 'line', prefix, suffix, target });

describe('dedupe-tasks', () => {
  test('drops tasks held by another file or repeated within the file, keeps ids, writes gzip', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-dedupe-'));
    try {
      const head = 'p'.repeat(250) + 'import os\n';
      const old = [task('py/line/0', 'py', head, 'x = 1', '\nprint(x)')];
      const fresh = [
        task('py/line/0', 'py', 'q'.repeat(50) + head, 'x = 1', '\nprint(x)'), // the same 200 characters around the target: dropped
        task('py/line/1', 'py', 'import os\n', 'x = 2', '\nprint(x)'), // another target: kept
        task('js/line/0', 'js', 'import os\n', 'x = 1', '\nprint(x)'), // another language: kept
        task('js/line/1', 'js', 'import os\n', 'x = 1', '\nprint(x)'), // repeats js/line/0: dropped
      ];
      const w = (name: string, rows: object[]) => {
        const p = path.join(dir, name);
        fs.writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
        return p;
      };
      const out = path.join(dir, 'out.jsonl.gz');
      const r = spawnSync(process.execPath, [script, w('new.jsonl', fresh), out, '--against', w('old.jsonl', old)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const kept = zlib.gunzipSync(fs.readFileSync(out)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l).task_id);
      assert.deepEqual(kept, ['py/line/1', 'js/line/0']);
      assert.match(r.stdout, /4 tasks, 2 dropped, 2 kept/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses to run without a file to dedupe against', () => {
    const r = spawnSync(process.execPath, [script, 'in.jsonl', 'out.jsonl'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage/);
  });
});

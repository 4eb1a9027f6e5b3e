import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test } from 'node:test';

// scripts/multi-from-lines.mjs: multi-line tasks made from full-line tasks (a second set for the
// multi-line cut, README "Multi-line ghost text")
const script = path.join(__dirname, '..', '..', 'scripts', 'multi-from-lines.mjs');

test('multi-from-lines: same cursor, the next 2-8 lines as target, the rest as suffix; the text is unchanged', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-multi-'));
  try {
    const rest = Array.from({ length: 12 }, (_, i) => `    x${i} = ${i}`).join('\n');
    const rows = [
      { task_id: 'py/line/0', lang: 'py', kind: 'line', mode: 'line', prefix: 'def f():\n', target: '    a = 1', suffix: '\n' + rest },
      { task_id: 'py/line/1', lang: 'py', kind: 'line', mode: 'line', prefix: 'x = 1\n', target: 'y = 2', suffix: '' }, // no second line: skipped
      { task_id: 'js/line/0', lang: 'js', kind: 'line', mode: 'line', prefix: 'function f() {\n', target: '  a()', suffix: '\n  b()\n  c()\n}\n' },
      { task_id: 'js/rest/0', lang: 'js', kind: 'rest', mode: 'line', prefix: 'x', target: 'y', suffix: '\nz\nw' }, // not a line task: skipped
    ];
    const inPath = path.join(dir, 'in.jsonl');
    fs.writeFileSync(inPath, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const outPath = path.join(dir, 'out.jsonl.gz');
    const r = spawnSync(process.execPath, [script, inPath, outPath, '--per-lang', '5', '--seed', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = zlib.gunzipSync(fs.readFileSync(outPath)).toString().trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(got.map((t) => t.task_id), ['py/multi-from-line/0', 'js/multi-from-line/0']);
    for (const t of got) {
      const src = rows.find((x) => x.task_id === t.task_id.replace('/multi-from-line/', '/line/'))!;
      assert.equal(t.kind, 'multi');
      assert.equal(t.mode, 'multiline');
      assert.equal(t.prefix, src.prefix);
      assert.equal(t.target + t.suffix, src.target + src.suffix, 'the same text, cut elsewhere');
      const n = t.target.split('\n').length;
      assert.ok(n >= 2 && n <= 8, `${n} target lines`);
      assert.ok(t.suffix.startsWith('\n'));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

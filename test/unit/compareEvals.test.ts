import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, test } from 'node:test';

// scripts/compare-evals.mjs decides whether a trained model replaces the shipped one: its counts
// and its McNemar p-value must be right.
const root = path.join(__dirname, '..', '..', 'scripts', 'compare-evals.mjs');

function run(tasks: object[], a: object[], b: object[], ...more: object[][]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-cmp-'));
  let k = 0;
  const w = (rows: object[]) => {
    const p = path.join(dir, `${k++}.jsonl`);
    fs.writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return p;
  };
  const files = [tasks, a, b, ...more].map(w);
  const r = spawnSync(process.execPath, [root, ...files, '--json'], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

describe('compare-evals', () => {
  const tasks = Array.from({ length: 10 }, (_, i) => ({ task_id: `py/line/${i}`, lang: 'py', kind: 'line', target: `x = ${i}` }));
  test('counts the tasks only one model gets right and tests them paired', () => {
    // A is right on 0..3, B on 0..3 and 4..9: B alone wins 6 tasks, A alone none
    const a = tasks.map((t, i) => ({ task_id: t.task_id, completion: i < 4 ? `${t.target}  \nmore` : 'y = 1' }));
    const b = tasks.map((t) => ({ task_id: t.task_id, completion: t.target }));
    const r = run(tasks, a, b);
    assert.equal(r.status, 0, r.stderr);
    const row = JSON.parse(r.stdout).rows[0];
    assert.equal(row.cell, 'py/line');
    assert.equal(row.n, 10);
    assert.equal(row.em_a, 40);
    assert.equal(row.em_b, 100);
    assert.equal(row.only_a, 0);
    assert.equal(row.only_b, 6);
    assert.ok(Math.abs(row.diff - 60) < 1e-9);
    // exact two-sided sign test of 6 against 0: 2 / 2^6
    assert.ok(Math.abs(row.p - 0.03125) < 1e-12, String(row.p));
  });
  test('reads gzipped completion files (the committed outputs of the shipped model)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-cmp-gz-'));
    try {
      const rows = (xs: object[]) => xs.map((r) => JSON.stringify(r)).join('\n') + '\n';
      const t = path.join(dir, 'tasks.jsonl');
      fs.writeFileSync(t, rows(tasks));
      const a = path.join(dir, 'a.jsonl.gz');
      fs.writeFileSync(a, zlib.gzipSync(rows(tasks.map((x, i) => ({ task_id: x.task_id, completion: i < 1 ? x.target : 'no' })))));
      const b = path.join(dir, 'b.jsonl');
      fs.writeFileSync(b, rows(tasks.map((x, i) => ({ task_id: x.task_id, completion: i < 3 ? x.target : 'no' }))));
      const r = spawnSync(process.execPath, [root, t, a, b, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const row = JSON.parse(r.stdout).rows[0];
      assert.equal(row.em_a, 10);
      assert.equal(row.em_b, 30);
      assert.equal(row.only_b, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('identical outputs differ by nothing, p = 1', () => {
    const a = tasks.map((t) => ({ task_id: t.task_id, completion: 'nope' }));
    const row = JSON.parse(run(tasks, a, a).stdout).rows[0];
    assert.equal(row.diff, 0);
    assert.equal(row.p, 1);
  });
  test('several task sets pool per cell and across languages, ids read per set', () => {
    const js = tasks.map((t) => ({ ...t, lang: 'js' }));
    // set 1 (py): B alone right on 2 tasks; set 2 (js, the same ids): A alone right on 3
    const a1 = tasks.map((t) => ({ task_id: t.task_id, completion: 'no' }));
    const b1 = tasks.map((t, i) => ({ task_id: t.task_id, completion: i < 2 ? t.target : 'no' }));
    const a2 = js.map((t, i) => ({ task_id: t.task_id, completion: i < 3 ? t.target : 'no' }));
    const b2 = js.map((t) => ({ task_id: t.task_id, completion: 'no' }));
    const r = run(tasks, a1, b1, js, a2, b2);
    assert.equal(r.status, 0, r.stderr);
    const rows = Object.fromEntries(JSON.parse(r.stdout).rows.map((x: { cell: string }) => [x.cell, x]));
    assert.equal(rows['py/line'].only_b, 2);
    assert.equal(rows['js/line'].only_a, 3);
    assert.equal(rows['all/line'].n, 20);
    assert.equal(rows['all/line'].only_a, 3);
    assert.equal(rows['all/line'].only_b, 2);
  });
  test('a count of files that is not a multiple of three is a usage error', () => {
    const r = spawnSync(process.execPath, [root, 'a', 'b'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage/);
  });
  test('files with no task in common are an error, not an empty table', () => {
    const r = run(tasks, [{ task_id: 'other', completion: '' }], [{ task_id: 'other', completion: '' }]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no task/);
  });
});

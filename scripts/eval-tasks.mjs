// Held-out exact match through the real engine (CPU, ONNX Runtime), on the tasks that
// training/eval.py wrote from validation packages (models/<name>/eval_tasks.jsonl.gz by default;
// training/eval_sets/heldout-1000.jsonl.gz: 1,000 tasks per language and kind, session 6).
//   node scripts/eval-tasks.mjs [TASKS.jsonl[.gz]] [--kinds line,rest,multi] [--limit N] [--model DIR] [--budget MS]
//                              [--decodings parallel,sequential,diffusion,diffusion-sequential,parallel+branches=0]
//                              [--thresholds 0.9,0.7] [--json]
// Runs `node dist/cli.js infill --raw` once per decoding (no deadline; --thresholds: the
// 'diffusion' decoding at each threshold) and prints exact match, forward passes (steps) and wall
// time per language and kind, side by side.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalise as norm, readTasks, shippedTasks } from './tasks-file.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const ti = args.indexOf('--thresholds');
const thresholds = ti >= 0 ? args[ti + 1].split(',').map(Number) : [0.9];
const ki = args.indexOf('--kinds');
const kinds = ki >= 0 ? new Set(args[ki + 1].split(',')) : undefined;
const li = args.indexOf('--limit');
const limit = li >= 0 ? Number(args[li + 1]) : Infinity;
const mi = args.indexOf('--model');
const modelArgs = mi >= 0 ? ['--model', path.resolve(args[mi + 1])] : [];
const di = args.indexOf('--decodings');
const decodings = di >= 0 ? args[di + 1].split(',') : ['parallel', 'sequential', 'diffusion', 'diffusion-sequential'];
const bi = args.indexOf('--budget');
const budget = bi >= 0 ? args[bi + 1] : '60000';
const tasksPath =
  args.find((a, i) => !a.startsWith('--') && !['--limit', '--thresholds', '--kinds', '--model', '--budget', '--decodings'].includes(args[i - 1])) ?? shippedTasks();
// at most `limit` tasks per (lang, kind)
const per = new Map();
const tasks = [];
for (const t of readTasks(tasksPath)) {
  const k = `${t.lang}/${t.kind}`;
  if (kinds && !kinds.has(t.kind)) continue;
  if ((per.get(k) ?? 0) >= limit) continue;
  per.set(k, (per.get(k) ?? 0) + 1);
  tasks.push(t);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-eval-'));
const inPath = path.join(tmp, 'tasks.jsonl');
fs.writeFileSync(inPath, tasks.map((t) => JSON.stringify({ task_id: t.task_id, prefix: t.prefix, suffix: t.suffix, mode: t.mode })).join('\n') + '\n');

const results = {};
// a decoding may carry CLI options: `parallel+branches=0+tree-nodes=32` runs `--decoding parallel --branches 0 --tree-nodes 32`
// `default` passes no --decoding: the editor's choice (`default+line-beam-width=1`: the setting diffill.lineBeamWidth = 1)
const runs = decodings.flatMap((d) => (d === 'diffusion' ? thresholds.map((t) => [t === 0.9 ? d : `${d}@${t}`, d, t]) : [[d, d.split('+')[0], 0.9]]));
for (const [name, how, threshold] of runs) {
  const extra = name.split('+').slice(1).flatMap((kv) => [`--${kv.split('=')[0]}`, kv.split('=')[1]]);
  const outPath = path.join(tmp, `${name}.jsonl`);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'dist', 'cli.js'), 'infill', '--jsonl', inPath, '--out', outPath, '--raw', '--budget', budget, ...modelArgs, ...(how === 'default' ? [] : ['--decoding', how]), '--threshold', String(threshold), ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const got = new Map(fs.readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((o) => [o.task_id, o]));
  for (const t of tasks) {
    const k = `${t.lang}/${t.kind}`;
    const o = got.get(t.task_id);
    const cell = ((results[k] ??= {})[name] ??= { n: 0, hits: 0, steps: 0, ms: 0 });
    cell.n++;
    cell.hits += norm(o.completion, t.kind) === norm(t.target, t.kind) ? 1 : 0;
    cell.steps += o.steps;
    cell.ms += o.ms;
  }
}
const rows = Object.entries(results).map(([task, v]) => ({
  task,
  n: Object.values(v)[0].n,
  ...Object.fromEntries(Object.entries(v).flatMap(([d, c]) => [[`em_${d}`, c.hits / c.n], [`steps_${d}`, c.steps / c.n], [`ms_${d}`, c.ms / c.n]])),
}));
if (json) console.log(JSON.stringify(rows));
else {
  const names = runs.map(([n]) => n);
  console.log(`${'task'.padEnd(10)} ${'n'.padStart(4)}  ` + names.map((n) => n.padStart(24)).join(''));
  console.log(`${''.padEnd(16)}` + names.map(() => 'EM % / steps / ms'.padStart(24)).join(''));
  for (const r of rows) {
    const cells = names.map((n) => `${(r[`em_${n}`] * 100).toFixed(1)} / ${r[`steps_${n}`].toFixed(2)} / ${r[`ms_${n}`].toFixed(0)}`.padStart(24));
    console.log(`${r.task.padEnd(10)} ${String(r.n).padStart(4)}  ${cells.join('')}`);
  }
  if (names.includes('sequential')) {
    for (const p of names.filter((n) => n.startsWith('parallel'))) {
      for (const r of rows) console.log(`${r.task}: ${p} takes ${(r.steps_sequential / r[`steps_${p}`]).toFixed(2)}x fewer forward passes than sequential, EM ${((r[`em_${p}`] - r.em_sequential) * 100).toFixed(1)} points apart`);
    }
  }

}

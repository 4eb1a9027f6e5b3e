// Held-out exact match through the real engine (CPU, ONNX Runtime), on the tasks that
// training/eval.py wrote from validation packages (models/<name>/eval_tasks.jsonl).
//   node scripts/eval-tasks.mjs [TASKS.jsonl] [--kinds line,rest,multi] [--limit N] [--thresholds 0.9,0.7]
//                              [--model DIR] [--budget MS] [--json]
// Runs `node dist/cli.js infill --raw` with parallel and with one-token-per-step decoding (no
// deadline) and prints exact match and refinement steps per language and kind, side by side.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
const bi = args.indexOf('--budget');
const budget = bi >= 0 ? args[bi + 1] : '60000';
let tasksPath = args.find((a, i) => !a.startsWith('--') && !['--limit', '--thresholds', '--kinds', '--model', '--budget'].includes(args[i - 1]));
if (!tasksPath) {
  const root = path.join(import.meta.dirname, '..', 'models');
  const dir = fs.readdirSync(root).sort().find((d) => fs.existsSync(path.join(root, d, 'eval_tasks.jsonl')));
  if (!dir) throw new Error('no models/*/eval_tasks.jsonl');
  tasksPath = path.join(root, dir, 'eval_tasks.jsonl');
}
// at most `limit` tasks per (lang, kind)
const per = new Map();
const tasks = [];
for (const line of fs.readFileSync(tasksPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const t = JSON.parse(line);
  const k = `${t.lang}/${t.kind}`;
  if (kinds && !kinds.has(t.kind)) continue;
  if ((per.get(k) ?? 0) >= limit) continue;
  per.set(k, (per.get(k) ?? 0) + 1);
  tasks.push(t);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-eval-'));
const inPath = path.join(tmp, 'tasks.jsonl');
fs.writeFileSync(inPath, tasks.map((t) => JSON.stringify({ task_id: t.task_id, prefix: t.prefix, suffix: t.suffix, mode: t.mode })).join('\n') + '\n');

const norm = (s, kind) =>
  kind === 'multi' ? s.replace(/\s+$/, '').split('\n').map((l) => l.replace(/\s+$/, '')).join('\n') : s.split('\n')[0].replace(/\s+$/, '');

const results = {};
const runs = [...thresholds.map((t) => [t === 0.9 ? 'parallel' : `parallel@${t}`, 'parallel', t]), ['sequential', 'sequential', 0.9]];
for (const [decoding, how, threshold] of runs) {
  const outPath = path.join(tmp, `${decoding}.jsonl`);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'dist', 'cli.js'), 'infill', '--jsonl', inPath, '--out', outPath, '--raw', '--budget', budget, ...modelArgs, '--decoding', how, '--threshold', String(threshold)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const got = new Map(fs.readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((o) => [o.task_id, o]));
  for (const t of tasks) {
    const k = `${t.lang}/${t.kind}`;
    const o = got.get(t.task_id);
    const cell = ((results[k] ??= {})[decoding] ??= { n: 0, hits: 0, steps: 0, ms: 0 });
    cell.n++;
    cell.hits += norm(o.completion, t.kind) === norm(t.target, t.kind) ? 1 : 0;
    cell.steps += o.steps;
    cell.ms += o.ms;
  }
}
const extra = (v) =>
  Object.fromEntries(
    Object.entries(v)
      .filter(([d]) => d.startsWith('parallel@'))
      .flatMap(([d, c]) => [[`em_${d}`, c.hits / c.n], [`steps_${d}`, c.steps / c.n]]),
  );
const rows = Object.entries(results).map(([k, v]) => ({
  ...extra(v),
  task: k,
  n: v.parallel.n,
  em_parallel: v.parallel.hits / v.parallel.n,
  em_sequential: v.sequential.hits / v.sequential.n,
  steps_parallel: v.parallel.steps / v.parallel.n,
  steps_sequential: v.sequential.steps / v.sequential.n,
  ms_parallel: v.parallel.ms / v.parallel.n,
  ms_sequential: v.sequential.ms / v.sequential.n,
}));
if (json) console.log(JSON.stringify(rows));
else {
  console.log('task              n    EM par   EM seq   steps par  steps seq   ms par   ms seq');
  for (const r of rows) {
    const ex = Object.entries(r).filter(([k]) => k.includes('@')).map(([k, v]) => `${k}=${k.startsWith('em') ? (v * 100).toFixed(1) + '%' : v.toFixed(2)}`).join(' ');
    console.log(`${r.task.padEnd(16)} ${String(r.n).padStart(3)}   ${(r.em_parallel * 100).toFixed(1).padStart(5)}%   ${(r.em_sequential * 100).toFixed(1).padStart(5)}%   ${r.steps_parallel.toFixed(2).padStart(8)}  ${r.steps_sequential.toFixed(2).padStart(8)}  ${r.ms_parallel.toFixed(0).padStart(6)}  ${r.ms_sequential.toFixed(0).padStart(6)}  ${ex}`);
  }
}

// Multi-line ghost text, line by line: the held-out multi-line tasks run in the editor's multi-line
// mode (post-processed as the editor shows them), once per --min-line-p value, and for each
// language the lines shown, how many of them match the reference line for line from the top (what
// a user accepting line by line keeps), the wrong ones, and the completions whose every line is
// right. Exact match of a whole multi-line span is near 0 for a model this size; this measures
// what the ghost text is worth instead.
//   node scripts/eval-multiline.mjs [TASKS.jsonl[.gz]] [--min-line-p 0,0.2] [--limit N] [--model DIR]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTasks, shippedTasks } from './tasks-file.mjs';

const args = process.argv.slice(2);
const val = (n) => (args.indexOf(n) >= 0 ? args[args.indexOf(n) + 1] : undefined);
const ps = (val('--min-line-p') ?? '0,0.2').split(',').map(Number);
const limit = Number(val('--limit') ?? Infinity);
const modelArgs = val('--model') ? ['--model', path.resolve(val('--model'))] : [];
const tasksPath =
  args.find((a, i) => !a.startsWith('--') && !['--min-line-p', '--limit', '--model'].includes(args[i - 1])) ?? shippedTasks();
const per = new Map();
const tasks = readTasks(tasksPath).filter((t) => {
  if (t.kind !== 'multi') return false;
  per.set(t.lang, (per.get(t.lang) ?? 0) + 1);
  return per.get(t.lang) <= limit;
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-multiline-'));
const inPath = path.join(tmp, 'tasks.jsonl');
fs.writeFileSync(inPath, tasks.map((t) => JSON.stringify({ task_id: t.task_id, prefix: t.prefix, suffix: t.suffix, mode: 'multiline' })).join('\n') + '\n');
const norm = (s) => s.replace(/\s+$/, '');
const rows = [];
for (const p of ps) {
  const outPath = path.join(tmp, `out-${p}.jsonl`);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'dist', 'cli.js'), 'infill', '--jsonl', inPath, '--out', outPath, '--min-line-p', String(p), ...modelArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const got = new Map(fs.readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((o) => [o.task_id, o]));
  const by = {};
  for (const t of tasks) {
    const c = (by[t.lang] ??= { lang: t.lang, min_line_p: p, tasks: 0, shown: 0, right: 0, wrong: 0, completions: 0, all_right: 0 });
    const text = got.get(t.task_id)?.completion ?? '';
    const kept = text === '' ? [] : text.split('\n');
    const ref = t.target.split('\n');
    let u = 0;
    while (u < kept.length && u < ref.length && norm(kept[u]) === norm(ref[u])) u++;
    c.tasks++;
    c.shown += kept.length;
    c.right += u;
    c.wrong += kept.length - u;
    if (kept.length > 0) {
      c.completions++;
      if (u === kept.length) c.all_right++;
    }
  }
  rows.push(...Object.values(by));
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log('lang        min_line_p  tasks  lines shown  right  wrong  completions  all lines right');
for (const r of rows) console.log(`${r.lang.padEnd(12)}${String(r.min_line_p).padStart(10)}${String(r.tasks).padStart(7)}${String(r.shown).padStart(13)}${String(r.right).padStart(7)}${String(r.wrong).padStart(7)}${String(r.completions).padStart(13)}${String(r.all_right).padStart(17)}`);
console.log(JSON.stringify(rows));

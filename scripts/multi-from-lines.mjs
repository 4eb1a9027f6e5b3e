// Multi-line tasks made from full-line tasks: the cursor stays where the line task put it (a line
// start), and the target becomes the next 2-8 lines of the same held-out text (seeded), the suffix
// what follows them. A second multi-line set for scripts/eval-multiline.mjs, beside the one in
// models/<name>/eval_tasks.jsonl.gz that session 20 chose the multi-line cut on.
//   node scripts/multi-from-lines.mjs [IN] OUT.jsonl.gz [--per-lang 150] [--seed 5]
// IN defaults to training/eval_sets/heldout-2000-line.jsonl.gz.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readTasks } from './tasks-file.mjs';

const args = process.argv.slice(2);
const val = (n, d) => (args.indexOf(n) >= 0 ? args[args.indexOf(n) + 1] : d);
const files = args.filter((a, i) => !a.startsWith('--') && !['--per-lang', '--seed'].includes(args[i - 1]));
const [inPath, outPath] = files.length >= 2 ? files : [path.join(import.meta.dirname, '..', 'training', 'eval_sets', 'heldout-2000-line.jsonl.gz'), files[0]];
if (!outPath) {
  console.error('usage: node scripts/multi-from-lines.mjs [IN] OUT.jsonl.gz [--per-lang 150] [--seed 5]');
  process.exit(2);
}
const perLang = Number(val('--per-lang', 150));
let seed = Number(val('--seed', 5)) >>> 0 || 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const count = new Map();
const out = [];
for (const t of readTasks(inPath)) {
  if (t.kind !== 'line' || (count.get(t.lang) ?? 0) >= perLang) continue;
  const after = (t.target + t.suffix).split('\n');
  const k = Math.min(2 + Math.floor(rand() * 7), after.length - 1);
  if (k < 2 || after.slice(0, k).join('').trim() === '') continue;
  count.set(t.lang, (count.get(t.lang) ?? 0) + 1);
  out.push({ task_id: t.task_id.replace('/line/', '/multi-from-line/'), lang: t.lang, kind: 'multi', mode: 'multiline', prefix: t.prefix, suffix: '\n' + after.slice(k).join('\n'), target: after.slice(0, k).join('\n') });
}
fs.writeFileSync(outPath, outPath.endsWith('.gz') ? zlib.gzipSync(out.map((t) => JSON.stringify(t)).join('\n') + '\n') : out.map((t) => JSON.stringify(t)).join('\n') + '\n');
console.log(`${out.length} tasks (${[...count].map(([l, n]) => `${l} ${n}`).join(', ')}) -> ${outPath}`);

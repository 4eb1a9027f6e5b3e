// Drops from a held-out task file every task that another task file already holds (the same
// language, target and surrounding text), so that a new set pooled with older ones counts no task
// twice. Task ids are kept, so completions of the new file pair with it as written.
//   node scripts/dedupe-tasks.mjs IN OUT.jsonl[.gz] --against A.jsonl.gz [--against B.jsonl.gz ...]
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { readTasks } from './tasks-file.mjs';

const CONTEXT = 200; // characters of prefix and suffix around the target that make a task's key

export function taskKey(t) {
  return JSON.stringify([t.lang, t.kind, t.prefix.slice(-CONTEXT), t.target, t.suffix.slice(0, CONTEXT)]);
}

export function dedupe(tasks, against) {
  const seen = new Set(against.map(taskKey));
  const kept = [];
  for (const t of tasks) {
    const k = taskKey(t);
    if (seen.has(k)) continue;
    seen.add(k); // and no task twice within the file itself
    kept.push(t);
  }
  return kept;
}

function main(argv) {
  const pos = [];
  const against = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--against') against.push(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length !== 2 || against.length === 0) {
    process.stderr.write('usage: node scripts/dedupe-tasks.mjs IN OUT.jsonl[.gz] --against FILE [--against FILE ...]\n');
    return 2;
  }
  const [inp, out] = pos;
  const tasks = readTasks(inp);
  const kept = dedupe(tasks, against.flatMap((f) => readTasks(f)));
  const text = kept.map((t) => JSON.stringify(t)).join('\n') + '\n';
  fs.writeFileSync(out, out.endsWith('.gz') ? zlib.gzipSync(text, { level: 9 }) : text);
  const byCell = {};
  for (const t of kept) byCell[`${t.lang}/${t.kind}`] = (byCell[`${t.lang}/${t.kind}`] ?? 0) + 1;
  process.stdout.write(`${inp}: ${tasks.length} tasks, ${tasks.length - kept.length} dropped, ${kept.length} kept -> ${out} ${JSON.stringify(byCell)}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));

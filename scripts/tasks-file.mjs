// Held-out task files (training/eval.py --tasks-out): JSON lines, plain or gzipped.
//   readTasks(path)        the tasks of a .jsonl or .jsonl.gz file
//   modelTasks(modelDir)   the path of models/<name>/eval_tasks.jsonl(.gz), or undefined
//   shippedTasks()         the first shipped model's task file (throws when there is none)
//   normalise(text, kind)  what exact match compares: a line task's first line, a multi-line task's
//                          lines, trailing whitespace dropped
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export function readTasks(file) {
  const raw = fs.readFileSync(file);
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

export function modelTasks(modelDir) {
  for (const name of ['eval_tasks.jsonl.gz', 'eval_tasks.jsonl']) {
    const p = path.join(modelDir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

export function shippedTasks() {
  const root = path.join(import.meta.dirname, '..', 'models');
  const dir = fs.readdirSync(root).sort().find((d) => modelTasks(path.join(root, d)));
  if (!dir) throw new Error('no models/*/eval_tasks.jsonl(.gz)');
  return modelTasks(path.join(root, dir));
}

export function normalise(s, kind) {
  return kind === 'multi' ? s.replace(/\s+$/, '').split('\n').map((l) => l.replace(/\s+$/, '')).join('\n') : s.split('\n')[0].replace(/\s+$/, '');
}

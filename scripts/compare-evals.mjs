// Paired comparison of two models on the same held-out tasks: exact match per (lang, kind) for
// each, the tasks only one of them gets right, the paired standard error of the difference and
// an exact two-sided McNemar (sign) test. Two models scored on the same 1,000 tasks are far more
// alike than two samples, so the paired error is much smaller than a cell's own (~1.3 points).
//   node scripts/compare-evals.mjs TASKS.jsonl[.gz] A.jsonl[.gz] B.jsonl[.gz] [TASKS2 A2 B2 ...] [--json]
// With several (tasks, A, B) triples, the cells of every triple are pooled (task ids are read per
// triple, so two sets may reuse ids). A row `all/<kind>` pools both languages: `all/line` is the
// figure of the replacement rule in training/README.md.
// A.jsonl and B.jsonl are `dist/cli.js infill --jsonl ... --out` files (eval-tasks.mjs leaves them
// in its temporary folder and prints the path): one {"task_id", "completion"} per line.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { normalise as norm, readTasks } from './tasks-file.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const pos = args.filter((a) => !a.startsWith('--'));
if (pos.length === 0 || pos.length % 3 !== 0) {
  console.error('usage: node scripts/compare-evals.mjs TASKS.jsonl[.gz] A.jsonl[.gz] B.jsonl[.gz] [TASKS2 A2 B2 ...] [--json]');
  process.exit(2);
}
const triples = [];
for (let i = 0; i < pos.length; i += 3) triples.push(pos.slice(i, i + 3));

function readCompletions(p) {
  const m = new Map();
  const raw = fs.readFileSync(p);
  for (const line of (p.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    m.set(r.task_id, r.completion ?? '');
  }
  return m;
}

/** Two-sided exact binomial test of b successes against c with p = 1/2 (McNemar's exact form). */
function mcnemar(b, c) {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log-space binomial tail: sum_{i<=k} C(n, i) / 2^n
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

const cells = new Map();
let missing = 0;
const add = (key, okA, okB) => {
  if (!cells.has(key)) cells.set(key, { n: 0, a: 0, b: 0, onlyA: 0, onlyB: 0 });
  const c = cells.get(key);
  c.n++;
  c.a += okA;
  c.b += okB;
  c.onlyA += okA && !okB;
  c.onlyB += okB && !okA;
};
for (const [tasksPath, aPath, bPath] of triples) {
  const A = readCompletions(aPath);
  const B = readCompletions(bPath);
  for (const t of readTasks(tasksPath)) {
    if (!A.has(t.task_id) || !B.has(t.task_id)) {
      missing++;
      continue;
    }
    const want = norm(t.target, t.kind);
    const okA = norm(A.get(t.task_id), t.kind) === want;
    const okB = norm(B.get(t.task_id), t.kind) === want;
    add(`${t.lang}/${t.kind}`, okA, okB);
    add(`all/${t.kind}`, okA, okB);
  }
}
if (cells.size === 0) {
  console.error('no task is in both completion files of any triple');
  process.exit(1);
}
const rows = [...cells].sort(([x], [y]) => (x.startsWith('all/') ? 1 : 0) - (y.startsWith('all/') ? 1 : 0) || x.localeCompare(y)).map(([cell, c]) => {
  const d = (c.onlyB - c.onlyA) / c.n;
  const se = Math.sqrt(Math.max(0, (c.onlyA + c.onlyB) / c.n - d * d) / c.n);
  return { cell, n: c.n, em_a: (100 * c.a) / c.n, em_b: (100 * c.b) / c.n, only_a: c.onlyA, only_b: c.onlyB, diff: 100 * d, paired_se: 100 * se, p: mcnemar(c.onlyA, c.onlyB) };
});
if (json) {
  console.log(JSON.stringify({ triples, missing, rows }, null, 1));
} else {
  for (const [t, a, b] of triples) console.log(`${t}: A = ${a}, B = ${b}`);
  if (missing) console.log(`(${missing} tasks missing from A or B, left out)`);
  console.log('cell          n   A EM %  B EM %  only A  only B  B-A pts  paired SE  McNemar p');
  for (const r of rows) {
    console.log(
      `${r.cell.padEnd(10)} ${String(r.n).padStart(4)}  ${r.em_a.toFixed(1).padStart(6)}  ${r.em_b.toFixed(1).padStart(6)}  ${String(r.only_a).padStart(6)}  ${String(r.only_b).padStart(6)}  ${((r.diff >= 0 ? '+' : '') + r.diff.toFixed(1)).padStart(7)}  ${r.paired_se.toFixed(2).padStart(9)}  ${r.p.toFixed(3).padStart(9)}`,
    );
  }
}

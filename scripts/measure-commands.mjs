// Infill Selection and Refactor Selection measured on held-out code: the prefix/target/suffix
// triples of models/<name>/eval_tasks.jsonl.gz (validation packages the model never trained on),
// through the same functions the language server runs (server/src/commands), on the CPU.
//
//   node scripts/measure-commands.mjs [TASKS.jsonl] [--per-bucket N] [--refactor N] [--budget MS]
//                                     [--candidates N] [--no-fit] [--threshold P] [--max-fraction F] [--rounds N]
//                                     [--model DIR] [--out FILE.json]
//
// (a) infill-span: the target span is the selection; exact match of the best candidate and of any
//     candidate, by the span's length in tokens (1-8, 9-24, 25+), N tasks per bucket.
// (b) refactor: one single-token bug is planted in the target (an operator swapped: == ↔ !=,
//     < ↔ >, + ↔ -, and ↔ or, …, or one identifier replaced by another of the same snippet); the
//     refactor of that span counts as a fix when its output equals the original target, and the
//     bug as touched when the planted token no longer stands. The same spans unplanted give the
//     false-change rate (the output differs from correct code). The planted token's probability is
//     set against the share of clean tokens below the same p (what the confidence view would tint).
// "unfiltered" columns: the engine's candidates before the span filters (spanFilters.ts).
// Prints a table, then the JSON of the numbers (also written to --out, with every task's row).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelTasks, readTasks } from './tasks-file.mjs';

// The TypeScript sources load through tsx, as in the tests: run again under `--import tsx`.
if (!process.env.DIFFILL_MEASURE_CHILD) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, DIFFILL_MEASURE_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
}
const root = path.join(import.meta.dirname, '..');
const { loadEngine } = await import(path.join(root, 'engine/src/index.ts'));
const { infillSpan } = await import(path.join(root, 'server/src/commands/infillSpan.ts'));
const { REMASK_BELOW, REMASK_SHARE, ROUNDS, refactorSpan } = await import(path.join(root, 'server/src/commands/refactor.ts'));
const { DEFAULT_SETTINGS } = await import(path.join(root, 'server/src/protocol.ts'));
const { seeded } = await import(path.join(root, 'engine/src/random.ts'));

// ---- flags ------------------------------------------------------------------------------------
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const perBucket = Number(flag('per-bucket', 12));
const refactorN = Number(flag('refactor', 40));
const budgetMs = Number(flag('budget', DEFAULT_SETTINGS.latencyBudgetMs * DEFAULT_SETTINGS.commandTimeoutFactor));
const candidates = Number(flag('candidates', 4));
const outPath = flag('out');
const fitLength = !args.includes('--no-fit');
const numberOr = (name) => (flag(name) === undefined ? undefined : Number(flag(name)));
const threshold = numberOr('threshold');
const maxFraction = numberOr('max-fraction');
const rounds = numberOr('rounds');
const valueFlags = new Set(['--per-bucket', '--refactor', '--budget', '--candidates', '--model', '--out', '--threshold', '--max-fraction', '--rounds']);
let tasksPath = args.find((a, i) => !a.startsWith('--') && !valueFlags.has(args[i - 1]));
let modelDir = flag('model');
if (!modelDir) {
  const models = path.join(root, 'models');
  const dir = fs.readdirSync(models).sort().find((d) => fs.existsSync(path.join(models, d, 'model.onnx')));
  if (!dir) throw new Error('no models/<name>/model.onnx');
  modelDir = path.join(models, dir);
}
tasksPath ??= modelTasks(modelDir);
if (!tasksPath) throw new Error(`no eval_tasks.jsonl(.gz) in ${modelDir}`);
const tasks = readTasks(tasksPath);

const engine = await loadEngine({ modelDir });
const tok = engine.tok;
const windowChars = DEFAULT_SETTINGS.maxContextTokens * 4 * 2;
const BUCKETS = [
  ['1-8', 1, 8],
  ['9-24', 9, 24],
  ['25+', 25, Infinity],
];
const bucketOf = (n) => BUCKETS.find(([, lo, hi]) => n >= lo && n <= hi)?.[0];
/** Exact match up to trailing whitespace on each line and at the end (the editor's notion). */
const norm = (s) => s.replace(/\s+$/, '').split('\n').map((l) => l.replace(/\s+$/, '')).join('\n');

/** Tasks in file order, the two languages interleaved, so any prefix of the run is balanced. */
function interleaved() {
  const by = new Map();
  for (const t of tasks) (by.get(t.lang) ?? by.set(t.lang, []).get(t.lang)).push(t);
  const lists = [...by.values()];
  const out = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}
const ordered = interleaved().filter((t) => t.target.trim() !== '');

// ---- (a) infill-span --------------------------------------------------------------------------
const t0 = performance.now();
const infillRows = [];
const taken = new Map(BUCKETS.map(([b]) => [b, 0]));
for (const t of ordered) {
  const n = tok.encode(t.target).length;
  const b = bucketOf(n);
  if (!b || taken.get(b) >= perBucket) continue;
  taken.set(b, taken.get(b) + 1);
  const text = t.prefix + t.target + t.suffix;
  const start = t.prefix.length;
  const out = await infillSpan(engine, { text, start, end: start + t.target.length, budgetMs, windowChars, candidates, fitLength });
  const want = norm(t.target);
  infillRows.push({
    task: t.task_id,
    bucket: b,
    tokens: n,
    best: out.candidates.length > 0 && norm(out.candidates[0].text) === want,
    any: out.candidates.some((c) => norm(c.text) === want),
    bestRaw: out.candidates.length > 0 && norm(out.candidates[0].raw) === want,
    anyRaw: out.candidates.some((c) => norm(c.raw) === want),
    found: out.candidates.length,
    ms: out.ms,
    truncated: out.truncated,
  });
  process.stderr.write(`infill ${infillRows.length}/${perBucket * BUCKETS.length} ${t.task_id} ${b}: ${infillRows.at(-1).best ? 'hit' : 'miss'} (${out.candidates.length} cand, ${Math.round(out.ms)} ms)\n`);
  if ([...taken.values()].every((v) => v >= perBucket)) break;
}
const infillMs = performance.now() - t0;

// ---- (b) refactor: planted single-token bugs ---------------------------------------------------
const KEYWORDS = new Set(
  ('False None True and as assert async await break class continue def del elif else except finally for from global if import in is ' +
    'lambda nonlocal not or pass raise return try while with yield self cls ' +
    'var let const function new this typeof instanceof delete void case switch default do catch throw export extends super ' +
    'static get set of null undefined true false require module exports console').split(' '),
);
const OPERATORS = [
  [' == ', ' != '], [' != ', ' == '], [' === ', ' !== '], [' !== ', ' === '],
  [' <= ', ' >= '], [' >= ', ' <= '], [' < ', ' > '], [' > ', ' < '],
  [' + ', ' - '], [' - ', ' + '], [' * ', ' / '],
  [' += ', ' -= '], [' -= ', ' += '],
  [' and ', ' or '], [' or ', ' and '], [' && ', ' || '], [' || ', ' && '],
];

/** Whether offset i of `s` lies in a string or a comment of its line (a heuristic, good enough). */
function inStringOrComment(s, i) {
  const lineStart = s.lastIndexOf('\n', i - 1) + 1;
  const before = s.slice(lineStart, i);
  if (/#|\/\//.test(before.replace(/(['"`])(?:\\.|(?!\1).)*\1/g, ''))) return true;
  let quote = null;
  for (let k = 0; k < before.length; k++) {
    const c = before[k];
    if (quote) {
      if (c === '\\') k++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
  }
  return quote !== null;
}

/** A bug planted in `target`: { text, start, end (of the planted token in text), kind, from, to } or undefined. */
function plant(t, index) {
  const s = t.target;
  const rnd = seeded(index + 1);
  const ops = [];
  for (const [from, to] of OPERATORS) {
    for (let i = s.indexOf(from); i >= 0; i = s.indexOf(from, i + 1)) if (!inStringOrComment(s, i)) ops.push({ i, from, to });
  }
  const ids = [];
  const idRe = /(?<![.\w$])[A-Za-z_$][\w$]*/g;
  for (let m; (m = idRe.exec(s)); ) if (!KEYWORDS.has(m[0]) && m[0].length > 1 && !inStringOrComment(s, m.index)) ids.push({ i: m.index, name: m[0] });
  const names = [...new Set([...(t.prefix.slice(-1500) + s).matchAll(/(?<![.\w$])[A-Za-z_$][\w$]*/g)].map((m) => m[0]))].filter(
    (n) => !KEYWORDS.has(n) && n.length > 1,
  );
  const tryOp = () => {
    if (ops.length === 0) return undefined;
    const o = ops[Math.floor(rnd() * ops.length)];
    const pad = o.from.length - o.from.trimStart().length;
    return {
      text: s.slice(0, o.i) + o.to + s.slice(o.i + o.from.length),
      start: o.i + pad,
      end: o.i + pad + o.to.trim().length,
      kind: 'operator',
      from: o.from.trim(),
      to: o.to.trim(),
    };
  };
  const tryId = () => {
    if (ids.length === 0) return undefined;
    const o = ids[Math.floor(rnd() * ids.length)];
    const others = names.filter((n) => n !== o.name);
    if (others.length === 0) return undefined;
    const to = others[Math.floor(rnd() * others.length)];
    return { text: s.slice(0, o.i) + to + s.slice(o.i + o.name.length), start: o.i, end: o.i + to.length, kind: 'identifier', from: o.name, to };
  };
  // the two kinds alternate; a span without the kind wanted is skipped, so both are measured alike
  return index % 2 === 0 ? tryOp() : tryId();
}

/** Whether every character of [start, end) of `a` survives into `b` (character LCS). */
function survives(a, b, start, end) {
  const n = a.length;
  const m = b.length;
  const dp = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const kept = new Uint8Array(n);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      kept[i] = 1;
      i++;
      j++;
    } else if (dp[i + 1][j] >= dp[i][j + 1]) i++;
    else j++;
  }
  for (let i = start; i < end; i++) if (!kept[i]) return false;
  return true;
}

const t1 = performance.now();
const refactorRows = [];
let index = 0;
for (const t of ordered) {
  if (refactorRows.length >= refactorN) break;
  const n = tok.encode(t.target).length;
  if (n < 4 || n > 96 || t.target.length > 400) continue;
  const bug = plant(t, index);
  if (!bug) continue;
  index++;
  const start = t.prefix.length;
  const run = (selection) =>
    refactorSpan(engine, { text: t.prefix + selection + t.suffix, start, end: start + selection.length, budgetMs, windowChars, threshold, maxFraction, rounds });
  const planted = await run(bug.text);
  const clean = await run(t.target);
  const fixed = planted.newText === t.target;
  const touched = planted.changed && !survives(bug.text, planted.newText, bug.start, bug.end);
  refactorRows.push({
    task: t.task_id,
    kind: bug.kind,
    bug: `${bug.from} → ${bug.to}`,
    tokens: n,
    fixed,
    touched,
    changed: planted.changed,
    bugP: Math.min(...planted.confidence.filter((c) => c.end > start + bug.start && c.start < start + bug.end).map((c) => c.p)),
    falseChange: clean.changed,
    cleanLowShare: clean.confidence.filter((c) => c.p < 0.05).length / Math.max(1, clean.confidence.length),
    ms: planted.ms + clean.ms,
  });
  const r = refactorRows.at(-1);
  process.stderr.write(
    `refactor ${refactorRows.length}/${refactorN} ${t.task_id} ${bug.kind} ${r.bug}: ${fixed ? 'fixed' : touched ? 'touched' : planted.changed ? 'changed elsewhere' : 'kept'}` +
      `${clean.changed ? ', clean span changed' : ''} (${Math.round(r.ms)} ms)\n`,
  );
}
const refactorMs = performance.now() - t1;
await engine.dispose();

// ---- report -----------------------------------------------------------------------------------
const pct = (k, n) => (n === 0 ? '—' : `${((100 * k) / n).toFixed(0)} %`);
const count = (rows, f) => rows.filter(f).length;
const infillTable = BUCKETS.map(([b]) => {
  const rows = infillRows.filter((r) => r.bucket === b);
  return {
    bucket: b,
    n: rows.length,
    best: count(rows, (r) => r.best),
    any: count(rows, (r) => r.any),
    bestRaw: count(rows, (r) => r.bestRaw),
    anyRaw: count(rows, (r) => r.anyRaw),
    noCandidate: count(rows, (r) => r.found === 0),
    meanMs: Math.round(rows.reduce((a, r) => a + r.ms, 0) / Math.max(1, rows.length)),
  };
});
const kinds = ['operator', 'identifier'];
const refactorTable = [...kinds.map((k) => [k, refactorRows.filter((r) => r.kind === k)]), ['all', refactorRows]].map(([k, rows]) => ({
  bug: k,
  n: rows.length,
  fixed: count(rows, (r) => r.fixed),
  touched: count(rows, (r) => r.touched),
  changed: count(rows, (r) => r.changed),
  lowP: count(rows, (r) => r.bugP < 0.05),
  falseChange: count(rows, (r) => r.falseChange),
  cleanLowShare: rows.reduce((a, r) => a + r.cleanLowShare, 0) / Math.max(1, rows.length),
}));

console.log(
  `model ${engine.info.modelName} · ${path.relative(root, tasksPath)} · budget ${budgetMs} ms per command · ${candidates} candidates` +
    `${fitLength ? '' : ' · no length cap'}\n`,
);
console.log('Infill Selection: exact match of the regenerated span (trailing whitespace ignored)');
console.log('| span (tokens) | tasks | best candidate | any candidate | best, unfiltered | any, unfiltered | no candidate | mean ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of infillTable) {
  console.log(
    `| ${r.bucket} | ${r.n} | ${pct(r.best, r.n)} | ${pct(r.any, r.n)} | ${pct(r.bestRaw, r.n)} | ${pct(r.anyRaw, r.n)} | ${pct(r.noCandidate, r.n)} | ${r.meanMs} |`,
  );
}
const all = Object.fromEntries(['best', 'any', 'bestRaw', 'anyRaw'].map((k) => [k, count(infillRows, (r) => r[k])]));
const N = infillRows.length;
console.log(`| all | ${N} | ${pct(all.best, N)} | ${pct(all.any, N)} | ${pct(all.bestRaw, N)} | ${pct(all.anyRaw, N)} | | |`);
console.log(
  `\nRefactor Selection: one planted single-token bug per span (re-masking tokens below p ${threshold ?? REMASK_BELOW}, ` +
    `at most ${maxFraction ?? REMASK_SHARE} of a window, ${rounds ?? ROUNDS} rounds)`,
);
console.log(
  '| bug | spans | fixed (output = original) | bug token changed | any change | bug token p < 0.05 | clean tokens p < 0.05 | false change on the clean span |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of refactorTable) {
  console.log(
    `| ${r.bug} | ${r.n} | ${pct(r.fixed, r.n)} | ${pct(r.touched, r.n)} | ${pct(r.changed, r.n)} | ${pct(r.lowP, r.n)} | ` +
      `${(100 * r.cleanLowShare).toFixed(0)} % | ${pct(r.falseChange, r.n)} |`,
  );
}
console.log(`\n(${(infillMs / 1000).toFixed(0)} s infill, ${(refactorMs / 1000).toFixed(0)} s refactor)`);
const report = {
  model: engine.info.modelName,
  tasks: path.relative(root, tasksPath),
  budgetMs,
  candidates,
  fitLength,
  threshold: threshold ?? REMASK_BELOW,
  maxFraction: maxFraction ?? REMASK_SHARE,
  rounds: rounds ?? ROUNDS,
  infill: infillTable,
  refactor: refactorTable,
  seconds: { infill: Math.round(infillMs / 1000), refactor: Math.round(refactorMs / 1000) },
  rows: { infill: infillRows, refactor: refactorRows },
};
if (outPath) fs.writeFileSync(outPath, JSON.stringify(report, null, 1) + '\n');
console.log(JSON.stringify({ ...report, rows: undefined }));
process.exit(0);

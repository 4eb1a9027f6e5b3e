/**
 * The command line: the same engine and post-processing the server uses, without an editor.
 *
 *   node dist/cli.js complete FILE LINE:COL [options]     ghost text at a cursor (1-based)
 *   node dist/cli.js infill --jsonl IN --out OUT [options] batch infill for evaluation
 *   node dist/cli.js infill-span FILE START END [options]  candidates for a selection (LINE:COL, 1-based)
 *   node dist/cli.js refactor FILE START END [options]     the selection rewritten by the model
 *   node dist/cli.js bench [--json]                        engine figures
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { loadEngine } from '../../engine/src/index';
import { DECODINGS, type Decoding, type Engine } from '../../engine/src/types';
import { runBench } from './bench';
import { serverMallocEnv } from './mallocEnv';
import { infillSpan } from './commands/infillSpan';
import { refactorSpan } from './commands/refactor';
import { SelectionError } from './commands/selection';
import { CHARS_PER_TOKEN } from './completion/context';
import { CompletionPipeline, contextFromParts } from './completion/pipeline';
import { type PostMode, postprocess } from './completion/postprocess';
import { offsetAtLineCol } from './documents';
import { cliModelPath, defaultModelsRoot, resolveModelDir } from './engineHost';
import { createLogger, describeError, silentLogger } from './log';
import { DEFAULT_SETTINGS, type DiffillSettings, normalizeSettings } from './protocol';

const USAGE = `usage:
  diffill complete FILE LINE:COL [--budget MS] [--model DIR] [--threads N] [--max-context N] [--json] [--verbose]
      Prints the ghost text at LINE:COL (1-based) of FILE, post-processed as in the editor;
      the latency goes to stderr.
  diffill infill --jsonl IN --out OUT [--budget MS] [--raw] [--tokens] [--decoding parallel|sequential|diffusion|diffusion-sequential|beam] [--beam-width W] [--line-beam-width W]
                 [--threshold P] [--masks M] [--max-draft K] [--lookup N] [--lookup-far CHARS] [--branches B] [--tree-nodes T] [--alternatives A] [--mask-root end|root|auto] [--min-line-p P] [--model DIR] [--threads N] [--max-context N]
      IN holds lines {"task_id","prefix","suffix","mode"} (mode "line" or "span");
      OUT gets {"task_id","completion","steps","ms"} per line (--tokens: also "raw", the engine's text
      before post-processing, and "tokens", each generated token's text and probability).
      --budget 0 (the default) = no deadline. Without --decoding, single lines are decoded as in the
      editor: a beam of --line-beam-width (the setting diffill.lineBeamWidth, default 2).
  diffill infill-span FILE START_LINE:COL END_LINE:COL [--candidates N] [--budget MS] [--model DIR] [--json]
      Regenerates the selection from the text around it; prints the candidates, best first.
  diffill refactor FILE START_LINE:COL END_LINE:COL [--budget MS] [--score-only] [--model DIR] [--json]
      Prints the selection as the model rewrites it (the tokens it finds unlikely re-masked and
      denoised); --json adds the edit and each original token's probability.
      For both, --budget is the whole command's (default latencyBudgetMs × commandTimeoutFactor).
  diffill bench [--json] [--model DIR] [--show-em] [--em-lines N] [--typing-lines N] [--cache-entries N] [--extend-chunk N] [--line-beam-width W]
      Engine figures; --show-em prints each exact-match line and both decodings' answers to stderr;
      --em-lines: lines of the exact-match / forwards comparison (default 320, half per language).`;

interface Flags {
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

const VALUE_FLAGS = new Set(['budget', 'model', 'threads', 'max-context', 'jsonl', 'out', 'decoding', 'threshold', 'candidates', 'masks', 'max-draft', 'lookup', 'lookup-far', 'branches', 'tree-nodes', 'alternatives', 'mask-root', 'branch-len', 'beam-width', 'min-line-p', 'empty-on-blank-line', 'repeat-next-line', 'line-beam-width']);

function parseFlags(args: string[]): Flags {
  const f: Flags = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      f.positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (VALUE_FLAGS.has(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      f.values.set(name, v);
    } else f.switches.add(name);
  }
  return f;
}

class UsageError extends Error {}

function numberFlag(f: Flags, name: string): number | undefined {
  const v = f.values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number`);
  return n;
}

function settingsFrom(f: Flags): DiffillSettings {
  return normalizeSettings({
    ...DEFAULT_SETTINGS,
    latencyBudgetMs: numberFlag(f, 'budget') ?? DEFAULT_SETTINGS.latencyBudgetMs,
    maxContextTokens: numberFlag(f, 'max-context') ?? DEFAULT_SETTINGS.maxContextTokens,
    threads: numberFlag(f, 'threads') ?? 0,
    modelPath: cliModelPath(f.values.get('model')),
    verboseLogging: f.switches.has('verbose'),
    debounceMs: 0,
  });
}

async function openEngine(settings: DiffillSettings): Promise<Engine> {
  const resolved = resolveModelDir(settings.modelPath, defaultModelsRoot());
  if ('error' in resolved) throw new Error(resolved.error);
  return loadEngine({
    modelDir: resolved.dir,
    threads: settings.threads > 0 ? settings.threads : undefined,
    maxContextTokens: settings.maxContextTokens,
  });
}

async function complete(f: Flags): Promise<number> {
  const [file, where] = f.positional;
  const m = /^(\d+):(\d+)$/.exec(where ?? '');
  if (!file || !m) throw new UsageError('complete needs FILE LINE:COL');
  const line = Number(m[1]);
  const col = Number(m[2]);
  const text = fs.readFileSync(file, 'utf8');
  const offset = offsetAtLineCol(text, line, col);
  if (offset === undefined) throw new UsageError(`${line}:${col} is not a position in ${file}`);

  const settings = settingsFrom(f);
  const engine = await openEngine(settings);
  try {
    const log = settings.verboseLogging
      ? createLogger({ error: (s) => console.error(s), warn: (s) => console.error(s), info: (s) => console.error(s) }, () => true, true)
      : silentLogger;
    const pipeline = new CompletionPipeline({ engine: () => engine, settings: () => settings, log });
    const r = await pipeline.complete({
      uri: `file://${file}`,
      text,
      offset,
      version: 1,
      currentVersion: () => 1,
    });
    const fill = r.fill;
    if (f.switches.has('json')) {
      console.log(
        JSON.stringify({
          completion: r.text,
          raw: fill?.text,
          ms: fill ? round(fill.ms) : undefined,
          steps: fill?.steps,
          forwards: fill?.forwards,
          truncated: fill?.truncated,
          model: engine.info.modelName,
          reason: r.reason,
        }),
      );
    } else {
      process.stdout.write(r.text + (r.text.endsWith('\n') ? '' : '\n'));
    }
    console.error(
      `diffill: ${fill ? `${round(fill.ms)} ms, ${fill.steps} steps, ${fill.forwards} forwards${fill.truncated ? ' (deadline hit)' : ''}` : `no completion (${r.reason})`}` +
        ` · model ${engine.info.modelName} · budget ${settings.latencyBudgetMs} ms`,
    );
    return r.reason === 'error' ? 1 : 0;
  } finally {
    await engine.dispose();
  }
}

async function infill(f: Flags): Promise<number> {
  const input = f.values.get('jsonl');
  const output = f.values.get('out');
  if (!input || !output) throw new UsageError('infill needs --jsonl IN and --out OUT');
  const settings = settingsFrom(f);
  const budget = numberFlag(f, 'budget') ?? 0;
  const decoding = f.values.get('decoding') as Decoding | undefined;
  if (decoding !== undefined && !DECODINGS.includes(decoding)) {
    throw new UsageError(`--decoding must be one of ${DECODINGS.join(', ')}`);
  }
  const threshold = numberFlag(f, 'threshold');
  const raw = f.switches.has('raw');
  const withTokens = f.switches.has('tokens');
  const engine = await openEngine(settings);
  const out = fs.createWriteStream(output);
  let n = 0;
  let failed = 0;
  try {
    const lines = readline.createInterface({ input: fs.createReadStream(input), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let task: { task_id?: unknown; prefix?: unknown; suffix?: unknown; mode?: unknown };
      try {
        task = JSON.parse(line);
      } catch {
        console.error(`infill: skipping a line that is not JSON: ${line.slice(0, 80)}`);
        failed++;
        continue;
      }
      const mode: PostMode = task.mode === 'span' ? 'span' : task.mode === 'multiline' ? 'multiline' : 'line';
      const ctx = contextFromParts(String(task.prefix ?? ''), String(task.suffix ?? ''), mode);
      const t0 = performance.now();
      let completion = '';
      let steps = 0;
      let tokens: Array<{ text: string; p: number }> | undefined;
      let rawText: string | undefined;
      try {
        const fill = await engine.fill({
          prefix: ctx.prefix,
          suffix: ctx.suffix,
          mode,
          budgetMs: budget > 0 ? budget : undefined,
          decoding,
          threshold,
          masks: numberFlag(f, 'masks'),
          maxDraft: numberFlag(f, 'max-draft'),
          lookup: numberFlag(f, 'lookup'),
          lookupFar: numberFlag(f, 'lookup-far'),
          branches: numberFlag(f, 'branches'),
          beamWidth: numberFlag(f, 'beam-width'),
          lineBeamWidth: numberFlag(f, 'line-beam-width'),
          emptyOnBlankLine: numberFlag(f, 'empty-on-blank-line') === 1,
          repeatNextLine: numberFlag(f, 'repeat-next-line') === 1,
          treeNodes: numberFlag(f, 'tree-nodes'),
          alternatives: numberFlag(f, 'alternatives'),
          branchLen: numberFlag(f, 'branch-len'),
          maskRoot: f.values.get('mask-root') as 'end' | 'root' | 'auto' | undefined,
          minLineP: numberFlag(f, 'min-line-p'),
        });
        steps = fill.steps;
        completion = raw ? fill.text : postprocess(fill.text, ctx);
        if (withTokens) {
          rawText = fill.text;
          tokens = fill.tokens.map((t) => ({ text: t.text, p: Math.round(t.p * 1e4) / 1e4 }));
        }
      } catch (err) {
        console.error(`infill: task ${String(task.task_id)} failed: ${describeError(err)}`);
        failed++;
      }
      const ms = round(performance.now() - t0);
      out.write(JSON.stringify({ task_id: task.task_id, completion, steps, ms, ...(withTokens ? { raw: rawText, tokens } : {}) }) + '\n');
      n++;
    }
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
    await engine.dispose();
  }
  console.error(`infill: ${n} tasks → ${output}${failed ? `, ${failed} failed` : ''}`);
  return failed > 0 && n === 0 ? 1 : 0;
}

/** FILE START_LINE:COL END_LINE:COL → the text and the selection's offsets. */
function selectionOf(f: Flags, cmd: string): { file: string; text: string; start: number; end: number } {
  const [file, from, to] = f.positional;
  const at = (where: string | undefined, what: string): number => {
    const m = /^(\d+):(\d+)$/.exec(where ?? '');
    if (!m) throw new UsageError(`${cmd} needs FILE START_LINE:COL END_LINE:COL`);
    const offset = offsetAtLineCol(text, Number(m[1]), Number(m[2]));
    if (offset === undefined) throw new UsageError(`${what} ${where} is not a position in ${file}`);
    return offset;
  };
  if (!file) throw new UsageError(`${cmd} needs FILE START_LINE:COL END_LINE:COL`);
  const text = fs.readFileSync(file, 'utf8');
  const start = at(from, 'start');
  const end = at(to, 'end');
  if (end < start) throw new UsageError(`the end ${to} comes before the start ${from}`);
  return { file, text, start, end };
}

/** 1-based "LINE:COL" of an offset. */
function lineColOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - (before.lastIndexOf('\n') + 1) + 1}`;
}

/** The selection commands' budget and context window, as the server computes them. */
function commandJob(f: Flags, settings: DiffillSettings): { budgetMs: number; windowChars: number } {
  return {
    budgetMs: numberFlag(f, 'budget') ?? DEFAULT_SETTINGS.latencyBudgetMs * DEFAULT_SETTINGS.commandTimeoutFactor,
    windowChars: settings.maxContextTokens * CHARS_PER_TOKEN * 2,
  };
}

async function infillSpanCmd(f: Flags): Promise<number> {
  const sel = selectionOf(f, 'infill-span');
  const settings = settingsFrom(f);
  const engine = await openEngine(settings);
  try {
    const out = await infillSpan(engine, { ...sel, ...commandJob(f, settings), candidates: numberFlag(f, 'candidates') });
    if (f.switches.has('json')) {
      console.log(JSON.stringify({ ...out, ms: round(out.ms), model: engine.info.modelName }));
    } else {
      out.candidates.forEach((c, i) => {
        process.stdout.write(`--- candidate ${i + 1} · p ≈ ${Math.exp(c.score).toFixed(3)} · ${c.method}\n${c.text}${c.text.endsWith('\n') ? '' : '\n'}`);
      });
    }
    console.error(
      `diffill: ${out.candidates.length} candidates in ${round(out.ms)} ms, ${out.forwards} forwards` +
        `${out.truncated ? ' (deadline hit)' : ''} · model ${engine.info.modelName}`,
    );
    return out.candidates.length > 0 ? 0 : 1;
  } finally {
    await engine.dispose();
  }
}

async function refactorCmd(f: Flags): Promise<number> {
  const sel = selectionOf(f, 'refactor');
  const settings = settingsFrom(f);
  const engine = await openEngine(settings);
  try {
    const out = await refactorSpan(engine, { ...sel, ...commandJob(f, settings), scoreOnly: f.switches.has('score-only') });
    if (f.switches.has('json')) {
      const pos = (o: number): string => lineColOf(sel.text, o);
      console.log(
        JSON.stringify({
          newText: out.newText,
          changed: out.changed,
          edits: out.edits.map((e) => ({ start: pos(e.start), end: pos(e.end), newText: e.newText })),
          confidence: out.confidence.map((c) => ({ text: sel.text.slice(c.start, c.end), p: Math.round(c.p * 1e4) / 1e4, start: pos(c.start), end: pos(c.end) })),
          rounds: out.rounds,
          forwards: out.forwards,
          ms: round(out.ms),
          truncated: out.truncated,
          model: engine.info.modelName,
        }),
      );
    } else {
      process.stdout.write(out.newText + (out.newText.endsWith('\n') ? '' : '\n'));
    }
    const low = out.confidence.filter((c) => c.p < 0.1).length;
    console.error(
      `diffill: ${out.changed ? 'rewritten' : out.undecodable ? 'unchanged (the rewrite held undecodable bytes)' : 'unchanged'}, ${low} of ${out.confidence.length} tokens below p 0.1, ` +
        `${out.rounds} rounds, ${out.forwards} forwards in ${round(out.ms)} ms${out.truncated ? ' (deadline hit)' : ''} · model ${engine.info.modelName}`,
    );
    return 0;
  } finally {
    await engine.dispose();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // `diffill bench --help` prints the usage instead of running a three-minute benchmark
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  try {
    switch (cmd) {
      case 'complete':
        return await complete(parseFlags(rest));
      case 'infill':
        return await infill(parseFlags(rest));
      case 'infill-span':
        return await infillSpanCmd(parseFlags(rest));
      case 'refactor':
        return await refactorCmd(parseFlags(rest));
      case 'bench': {
        // measure the engine as the language server runs it: the client starts the server with
        // glibc malloc settings (mallocEnv.ts); glibc reads them at start-up, so re-run this process
        // with them
        if (process.platform === 'linux' && process.env.MALLOC_ARENA_MAX === undefined) {
          const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...argv], {
            stdio: 'inherit',
            env: { ...process.env, ...serverMallocEnv() },
          });
          return r.status ?? 1;
        }
        const code: unknown = await runBench(rest);
        return typeof code === 'number' ? code : 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command: ${cmd}`);
    }
  } catch (err) {
    if (err instanceof SelectionError) {
      console.error(`diffill: ${err.message}`);
      return 2;
    }
    if (err instanceof UsageError) {
      console.error(`diffill: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`diffill: ${describeError(err)}`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  // ONNX Runtime's thread pool must not keep a finished command alive.
  process.stdout.write('', () => process.exit(code));
});

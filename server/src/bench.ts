/**
 * `node dist/cli.js bench [--json]`: the engine's figures on this machine, in one run.
 *
 * Inputs are files the model never trained on: Diffill's own TypeScript and Python sources.
 *  - load_ms: loadEngine until it is ready to serve (tokenizer, ONNX session). The warm-up fill then
 *    runs in the background, first in the engine's queue: warmup_ms is its own time.
 *  - cold_ms: a completion in a fresh ~1,500-token file (empty KV cache), asked for the moment the
 *    engine is ready; its own time, after the warm-up. first_completion_ms: from the start of the
 *    load to that completion (load + waiting for the warm-up + cold), what a user who types at
 *    once sees.
 *  - typing replay: lines of the files are typed character by character at an editor's pace
 *    (a keystroke every --key-ms, default 60 ms); each keystroke sends a fill with the latency
 *    budget and cancels the previous one if it is still running, as VS Code does. p50/p95 are
 *    request -> completion of the fills that completed (warm: the document's KV cache is kept).
 *  - kv_cache_mb: the documents' KV caches kept at the end (kv_cache_docs of them, kv_cache_packed
 *    waiting as fp16) once the engine was idle: the part of rss_mb that the model's size and
 *    KV_CACHE_BUDGET_BYTES decide. kv_cache_busy_mb: the same right after the last request, before
 *    idle packing (the last two documents' caches still float32).
 *  - exact match: at held-out line starts of a warm document (context already encoded), the line is
 *    filled with parallel decoding and with one token per forward pass (same weights, no deadline),
 *    one after the other; forwards and wall time of both give the speedups.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LINE_BEAM_WIDTH, loadEngine } from '../../engine/src/index';
import type { Engine, FillRequest, FillResult } from '../../engine/src/types';
import { cliModelPath, defaultModelsRoot, resolveModelDir } from './engineHost';
import { seeded as rng } from '../../engine/src/random';

interface BenchFile {
  name: string;
  lang: 'python' | 'typescript';
  text: string;
}

const ROOT = path.resolve(__dirname, '..');

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
}

/** The bench's input: a frozen copy of Diffill's own sources (test/bench-corpus/README.md). */
function benchFiles(): BenchFile[] {
  const corpus = path.join(ROOT, 'test', 'bench-corpus');
  const pick = (dir: string, ext: string, lang: BenchFile['lang']) => {
    const d = path.join(corpus, dir);
    if (!fs.existsSync(d)) return [];
    return fs
      .readdirSync(d)
      .filter((f) => f.endsWith(`${ext}.txt`))
      .sort()
      .map((f) => ({ name: `${dir}/${f.slice(0, -4)}`, lang, text: fs.readFileSync(path.join(d, f), 'utf8') }));
  };
  return [...pick('training', '.py', 'python'), ...pick('engine/src', '.ts', 'typescript'), ...pick('server/src/completion', '.ts', 'typescript')];
}


interface Spot {
  file: BenchFile;
  /** offset of the line start, indentation included in the prefix */
  at: number;
  line: string;
  indent: string;
}

/** Lines worth completing: 12..100 chars of code after the indentation, not comments. */
function spots(files: BenchFile[], perLang: number, seed: number): Spot[] {
  const r = rng(seed);
  const out: Spot[] = [];
  for (const lang of ['python', 'typescript'] as const) {
    const cands: Spot[] = [];
    for (const file of files.filter((f) => f.lang === lang)) {
      let off = 0;
      for (const line of file.text.split('\n')) {
        const body = line.trim();
        const indent = line.slice(0, line.length - line.trimStart().length);
        if (body.length >= 12 && body.length <= 100 && !/^(#|\/\/|\*|\/\*|"""|import |from |export \*)/.test(body) && off > 200) {
          cands.push({ file, at: off, line: body, indent });
        }
        off += line.length + 1;
      }
    }
    for (let i = 0; i < perLang && cands.length > 0; i++) out.push(cands.splice(Math.floor(r() * cands.length), 1)[0]);
  }
  return out;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function typingReplay(engine: Engine, sp: Spot[], budgetMs: number, keyMs: number, tuning: Partial<FillRequest> = {}) {
  const lat: number[] = [];
  let cancelled = 0;
  let completed = 0;
  let forwards = 0;
  for (const s of sp) {
    const key = `replay:${s.file.name}`;
    const before = s.file.text.slice(0, s.at) + s.indent;
    const after = s.file.text.slice(s.at + s.indent.length + s.line.length);
    let inflight: { ac: AbortController; p: Promise<FillResult | undefined> } | undefined;
    for (let k = 0; k <= s.line.length; k++) {
      const t = performance.now();
      if (inflight) {
        inflight.ac.abort();
        await inflight.p;
      }
      const ac = new AbortController();
      const t0 = performance.now();
      const p = engine
        .fill({ prefix: before + s.line.slice(0, k), suffix: after, mode: 'line', budgetMs, signal: ac.signal, cacheKey: key, ...tuning })
        .then((r) => {
          lat.push(performance.now() - t0);
          completed++;
          forwards += r.forwards;
          return r;
        })
        .catch((err) => {
          if ((err as Error).name === 'AbortError') cancelled++;
          else throw err;
          return undefined;
        });
      inflight = { ac, p };
      const spent = performance.now() - t;
      await sleep(Math.max(0, keyMs - spent));
    }
    await inflight?.p;
  }
  return { lat, cancelled, completed, forwards };
}

interface EmSide {
  hits: number;
  forwards: number;
  ms: number;
  perLang: Record<string, { n: number; hits: number }>;
}

/**
 * Each held-out line is filled with both decodings on a warm document: the context is encoded
 * first (a one-token fill), then parallel and sequential fill the line from the same cache, one
 * right after the other, so that both see the same machine.
 */
async function exactMatch(engine: Engine, sp: Spot[], show = false, tuning: Partial<FillRequest> = {}) {
  const sides: Record<'parallel' | 'sequential', EmSide> = {
    parallel: { hits: 0, forwards: 0, ms: 0, perLang: {} },
    sequential: { hits: 0, forwards: 0, ms: 0, perLang: {} },
  };
  for (const s of sp) {
    const prefix = s.file.text.slice(0, s.at) + s.indent;
    const suffix = s.file.text.slice(s.at + s.indent.length + s.line.length);
    const cacheKey = `em:${s.file.name}`;
    await engine.fill({ prefix, suffix, mode: 'line', decoding: 'sequential', maxTokens: 1, budgetMs: 60_000, cacheKey });
    for (const decoding of ['parallel', 'sequential'] as const) {
      // the "parallel" side is the engine's own choice for a line: the beam unless its width is 1
      const own = decoding === 'parallel' && (tuning.lineBeamWidth ?? LINE_BEAM_WIDTH) > 1;
      const r = await engine.fill({ prefix, suffix, mode: 'line', decoding: own ? undefined : decoding, budgetMs: 60_000, cacheKey, ...(decoding === 'parallel' ? tuning : {}) });
      const ok = r.text.trimEnd() === s.line.trimEnd();
      if (show) process.stderr.write(`${decoding} ${ok ? 'HIT ' : 'miss'} ${s.file.name}\n  want ${JSON.stringify(s.line)}\n  got  ${JSON.stringify(r.text)} (${r.forwards} forwards)\n`);
      const side = sides[decoding];
      side.hits += ok ? 1 : 0;
      side.forwards += r.forwards;
      side.ms += r.ms;
      const l = (side.perLang[s.file.lang] ??= { n: 0, hits: 0 });
      l.n++;
      l.hits += ok ? 1 : 0;
    }
  }
  const sum = (x: EmSide) => ({ em: x.hits / sp.length, forwards: x.forwards / sp.length, ms: x.ms, perLang: x.perLang });
  return { par: sum(sides.parallel), seq: sum(sides.sequential) };
}

export async function runBench(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const budgetMs = flag(args, 'budget', 150);
  const keyMs = flag(args, 'key-ms', 60);
  const nType = flag(args, 'typing-lines', 8);
  const nEm = flag(args, 'em-lines', 320);
  const threads = flag(args, 'threads', 0);
  const cacheEntries = flag(args, 'cache-entries', 0);
  const extendChunk = flag(args, 'extend-chunk', -1);
  const mi = args.indexOf('--model');
  const resolved = resolveModelDir(cliModelPath(mi >= 0 ? args[mi + 1] : ''), defaultModelsRoot());
  if ('error' in resolved) throw new Error(resolved.error);
  const rss0 = process.memoryUsage().rss;

  const t0 = performance.now();
  const engine = await loadEngine({ modelDir: resolved.dir, threads: threads > 0 ? threads : undefined, cacheEntries: cacheEntries > 0 ? cacheEntries : undefined, extendChunk: extendChunk >= 0 ? extendChunk : undefined });
  const loadMs = performance.now() - t0;

  const files = benchFiles();
  if (files.length === 0) throw new Error('bench: no input files found next to dist/');
  // cold: a fresh document of ~1,500 tokens, cursor at its end
  const big = files.filter((f) => f.lang === 'python').sort((a, b) => b.text.length - a.text.length)[0] ?? files[0];
  const cut = big.text.lastIndexOf('\n', Math.min(big.text.length - 1, 1500 * 3.2)) + 1;
  const cold = await engine.fill({ prefix: big.text.slice(0, cut), suffix: big.text.slice(cut), mode: 'line', budgetMs, cacheKey: 'cold' });
  const firstMs = performance.now() - t0;
  const coldMs = cold.ms;
  const warmupMs = await engine.whenWarm?.();
  const coldTokens = cold.newTokens + cold.cachedTokens;

  // decoding options for tuning runs (engine defaults otherwise): --branches B --tree-nodes T --masks M --branch-len L --max-draft K --lookup N --lookup-far C --alternatives A --mask-root end|root|auto
  const tuning: Partial<FillRequest> = {};
  for (const [k, name] of [['branches', 'branches'], ['treeNodes', 'tree-nodes'], ['masks', 'masks'], ['alternatives', 'alternatives'], ['branchLen', 'branch-len'], ['lookupFar', 'lookup-far'], ['maxDraft', 'max-draft'], ['lookup', 'lookup']] as const) {
    if (args.includes(`--${name}`)) tuning[k] = flag(args, name, 0);
  }
  // --line-beam-width W: the setting diffill.lineBeamWidth (default LINE_BEAM_WIDTH, 2: single lines by
  // beam search; 1: greedy draft-and-verify); the "parallel" figures are then the beam's above 1
  if (args.includes('--line-beam-width')) tuning.lineBeamWidth = flag(args, 'line-beam-width', 1);
  const mr = args.indexOf('--mask-root');
  if (mr >= 0) tuning.maskRoot = args[mr + 1] as FillRequest['maskRoot'];
  const typeSpots = spots(files, Math.ceil(nType / 2), 1);
  const replay = await typingReplay(engine, typeSpots, budgetMs, keyMs, tuning);

  const emSpots = spots(files, Math.ceil(nEm / 2), 2);
  const show = args.includes('--show-em');
  const { par, seq } = await exactMatch(engine, emSpots, show, tuning);
  const rss = process.memoryUsage().rss;
  const kvBusy = engine.cacheStats?.();
  engine.packIdleCaches?.();
  const kv = engine.cacheStats?.();
  const out = {
    model: engine.info.modelName,
    cores: os.cpus().length,
    threads: engine.info.threads,
    budget_ms: budgetMs,
    line_beam_width: tuning.lineBeamWidth ?? LINE_BEAM_WIDTH,
    load_ms: Math.round(loadMs),
    warmup_ms: warmupMs === undefined ? null : Math.round(warmupMs),
    cold_ms: Math.round(coldMs),
    first_completion_ms: Math.round(firstMs),
    cold_context_tokens: coldTokens,
    p50_ms: Math.round(pct(replay.lat, 50) * 10) / 10,
    p95_ms: Math.round(pct(replay.lat, 95) * 10) / 10,
    keystrokes: replay.completed + replay.cancelled,
    completed: replay.completed,
    cancelled: replay.cancelled,
    forwards_per_keystroke: Math.round((replay.forwards / Math.max(1, replay.completed)) * 100) / 100,
    em_lines: emSpots.length,
    forwards_per_completion_parallel: Math.round(par.forwards * 100) / 100,
    forwards_per_completion_sequential: Math.round(seq.forwards * 100) / 100,
    forwards_ratio: Math.round((seq.forwards / par.forwards) * 100) / 100,
    speedup_wall: Math.round((seq.ms / par.ms) * 100) / 100,
    ms_per_completion_parallel: Math.round((par.ms / emSpots.length) * 10) / 10,
    ms_per_completion_sequential: Math.round((seq.ms / emSpots.length) * 10) / 10,
    exact_match_parallel: Math.round(par.em * 1000) / 1000,
    exact_match_sequential: Math.round(seq.em * 1000) / 1000,
    exact_match_by_lang: Object.fromEntries(
      Object.entries(par.perLang).map(([k, v]) => [k, { parallel: v.hits / v.n, sequential: seq.perLang[k].hits / seq.perLang[k].n, n: v.n }]),
    ),
    rss_mb: Math.round(rss / 1e6),
    rss_start_mb: Math.round(rss0 / 1e6),
    kv_cache_docs: kv?.entries ?? null,
    kv_cache_packed: kv?.packed ?? null,
    kv_cache_mb: kv ? Math.round(kv.bytes / 1e5) / 10 : null,
    kv_cache_busy_mb: kvBusy ? Math.round(kvBusy.bytes / 1e5) / 10 : null,
  };
  await engine.dispose();
  if (json) {
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(36)} ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
  }
  return 0;
}

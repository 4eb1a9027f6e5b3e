// Latency of the first completion after the user moves to another document, the request that
// pays for the KV cache conversions of kvcache.ts (packing idle documents as fp16, unpacking the
// one asked for). Two documents of about a full context each are filled in turn, with --gap ms
// of quiet between requests (below IDLE_PACK_MS the engine is never idle; above it, idle packing
// runs in between). Every switch request extends its document's context by one character, as a
// keystroke does, and asks for one token (one pass, no deadline), so that its time is the
// conversions plus that pass and not a latency budget spent on decoding. Prints one JSON line per
// gap: median and p90 of the switch requests and of same-document requests (one more keystroke on
// the document just used) for comparison.
//   node scripts/switch-latency.mjs [MODEL_DIR] [--rounds 20]
// Run it with the server's glibc settings to match the engine:
//   MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 node scripts/switch-latency.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import { measureArgs, require, root } from './measure-args.mjs';

const { opts, dir } = measureArgs({ '--rounds': 20 });
const rounds = opts['--rounds'];
const { loadEngine, IDLE_PACK_MS } = require(path.join(root, 'engine', 'src', 'index.ts'));
const engine = await loadEngine({ modelDir: dir, threads: 2 });
await engine.whenWarm();

// two real files of this repository, cut where a line starts after about 1,800 characters
const docs = ['training/data.py', 'engine/src/context.ts'].map((f) => {
  const text = fs.readFileSync(path.join(root, f), 'utf8');
  const cut = text.indexOf('\n', 1800) + 1;
  return { key: f, prefix: text.slice(0, cut), suffix: text.slice(cut, cut + 400), typed: 0 };
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function fill(d) {
  d.typed++;
  const t = performance.now();
  await engine.fill({ prefix: d.prefix + ' '.repeat(d.typed), suffix: d.suffix, mode: 'line', decoding: 'sequential', maxTokens: 1, budgetMs: 60_000, cacheKey: d.key });
  return performance.now() - t;
}

for (const gap of [100, IDLE_PACK_MS === undefined ? 600 : IDLE_PACK_MS + 400]) {
  for (const d of docs) await fill(d); // both documents cached
  const sw = [];
  const same = [];
  for (let r = 0; r < rounds; r++) {
    for (const d of docs) {
      await sleep(gap);
      sw.push(await fill(d));
      await sleep(gap);
      same.push(await fill(d));
    }
  }
  const round = (x) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      model: path.basename(dir),
      idle_pack_ms: IDLE_PACK_MS ?? null,
      gap_ms: gap,
      switch_p50_ms: round(median(sw)),
      switch_p90_ms: round(p90(sw)),
      same_doc_p50_ms: round(median(same)),
      same_doc_p90_ms: round(p90(same)),
      requests: sw.length + same.length,
      kv: engine.cacheStats(),
    }),
  );
}
await engine.dispose();

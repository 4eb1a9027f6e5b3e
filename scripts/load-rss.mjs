// Memory an ONNX model takes once ONNX Runtime has loaded it (through the engine's own
// ModelSession.create, 2 threads): RSS after loading minus RSS before, in MB, for each file given
// (config.json beside it gives the dimensions), each in
// a fresh process (run it with the language server's malloc settings to match the bench:
// MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304).
//   node scripts/load-rss.mjs MODEL.onnx [MODEL2.onnx ...] [--runs 3]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const require = createRequire(import.meta.url);
  require('tsx/cjs');
  const { ModelSession } = require(path.join(import.meta.dirname, '..', 'engine', 'src', 'session.ts'));
  const m = JSON.parse(fs.readFileSync(path.join(path.dirname(args[1]), 'config.json'), 'utf8')).model;
  const r0 = process.memoryUsage().rss;
  await ModelSession.create(args[1], { layers: m.layers, heads: m.heads, headDim: m.d / m.heads, vocab: m.vocab }, { threads: 2 });
  global.gc?.();
  await new Promise((r) => setTimeout(r, 300));
  console.log(((process.memoryUsage().rss - r0) / 1048576).toFixed(1));
} else {
  const ri = args.indexOf('--runs');
  const runs = ri >= 0 ? Number(args[ri + 1]) : 3;
  const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
  const out = Object.fromEntries(files.map((f) => [f, []]));
  for (let r = 0; r < runs; r++) {
    for (const f of files) {
      const p = spawnSync(process.execPath, ['--expose-gc', import.meta.filename, '--child', f], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${f}: ${p.stderr}`);
      out[f].push(Number(p.stdout.trim()));
    }
  }
  for (const f of files) console.log(`${f}: ${out[f].join(' / ')} MB after load`);
}

// Memory an ONNX model takes once ONNX Runtime has loaded it (CPU provider, the engine's session
// options): RSS after InferenceSession.create minus RSS before, in MB, for each file given, each in
// a fresh process (run it with the language server's malloc settings to match the bench:
// MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304).
//   node scripts/load-rss.mjs MODEL.onnx [MODEL2.onnx ...] [--runs 3]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const require = createRequire(import.meta.url);
  const ort = require(path.join(import.meta.dirname, '..', 'node_modules', 'onnxruntime-node'));
  const r0 = process.memoryUsage().rss;
  await ort.InferenceSession.create(args[1], { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false });
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

// Time to pack a full context's KV cache as fp16 and to unpack it (engine/src/half.ts), the cost
// the engine pays when the user moves between documents (kvcache.ts). The cache is shaped as the
// shipped model's (one array of keys and one of values per layer, --tokens positions); rounds after
// the first reuse freed memory, as the engine does. Prints one JSON line per round.
//   node scripts/kv-pack.mjs [MODEL_DIR] [--tokens 480] [--rounds 8]
// Run it with the server's glibc settings to match the engine:
//   MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 node scripts/kv-pack.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import { measureArgs, require, root } from './measure-args.mjs';

const { opts, dir } = measureArgs({ '--tokens': 480, '--rounds': 8 });
const tokens = opts['--tokens'];
const rounds = opts['--rounds'];
const { packHalf, unpackHalf } = require(path.join(root, 'engine', 'src', 'half.ts'));
const m = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).model;
const per = m.d * tokens;
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 4;
const arrays = Array.from({ length: 2 * m.layers }, () => Float32Array.from({ length: per }, rnd));
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  const packed = arrays.map(packHalf);
  const packMs = performance.now() - t;
  t = performance.now();
  packed.map(unpackHalf);
  const unpackMs = performance.now() - t;
  console.log(JSON.stringify({ model: path.basename(dir), round: r + 1, mb: Math.round((arrays.length * per * 4) / 1e5) / 10, pack_ms: Math.round(packMs * 10) / 10, unpack_ms: Math.round(unpackMs * 10) / 10 }));
}

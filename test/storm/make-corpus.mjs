// Freezes the storm's documents: 10 Python and 10 TypeScript files of this repository (as they were
// when the corpus was made), each cut to at most 12 KB at a line end, into corpus.json. The storm
// replays typing in them; frozen so that its keystrokes depend on the seed alone.
//   node test/storm/make-corpus.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FILES = [
  ['python', 'training/ckpt.py'],
  ['python', 'training/data.py'],
  ['python', 'training/decode.py'],
  ['python', 'training/eval.py'],
  ['python', 'training/export.py'],
  ['python', 'training/model.py'],
  ['python', 'training/plot.py'],
  ['python', 'training/prep.py'],
  ['python', 'training/train.py'],
  ['python', 'training/tests/smoke_cpu.py'],
  ['typescript', 'server/src/documents.ts'],
  ['typescript', 'server/src/log.ts'],
  ['typescript', 'server/src/status.ts'],
  ['typescript', 'server/src/protocol.ts'],
  ['typescript', 'server/src/engineHost.ts'],
  ['typescript', 'server/src/completion/cache.ts'],
  ['typescript', 'server/src/completion/typedAhead.ts'],
  ['typescript', 'server/src/completion/debounce.ts'],
  ['typescript', 'server/src/completion/context.ts'],
  ['typescript', 'server/src/completion/postprocess.ts'],
];
const MAX = 12 * 1024;

const docs = FILES.map(([languageId, file]) => {
  let text = readFileSync(path.join(ROOT, file), 'utf8');
  if (text.length > MAX) text = text.slice(0, text.lastIndexOf('\n', MAX) + 1);
  return { name: path.basename(file), languageId, text };
});
writeFileSync(path.join(import.meta.dirname, 'corpus.json'), `${JSON.stringify(docs, null, 1)}\n`);
console.log(`corpus.json: ${docs.length} documents, ${docs.reduce((n, d) => n + d.text.length, 0)} characters`);

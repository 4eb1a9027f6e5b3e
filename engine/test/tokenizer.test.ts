import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CodeTokenizer } from '../src/tokenizer';
import { NO_MODEL, byteTokenizer, shippedModelDir } from './helpers';

const SAMPLE = 'def f(x):\n    return x + 1  # ünïcode ✓\n\n\tconst a = `<|eot|>`;\r\nlast line';

test('byte tokenizer: decode(encode(x)) == x, line by line equals whole', () => {
  const tok = byteTokenizer();
  const ids = tok.encode(SAMPLE);
  assert.equal(tok.decode(ids), SAMPLE);
  assert.deepEqual(ids, tok.encodeWhole(SAMPLE));
  assert.ok(ids.every((id) => !tok.isSpecial[id]), 'document text never becomes special tokens');
  // newline ends a token: no token holds a newline anywhere but at its end
  for (const id of ids) {
    const b = tok.bytes[id];
    const i = b.indexOf(10);
    assert.ok(i < 0 || i === b.length - 1);
  }
});

const dir = shippedModelDir();
test('shipped tokenizer: round trip, newline isolation, specials by id only', { skip: dir ? false : NO_MODEL }, () => {
  const conf = JSON.parse(fs.readFileSync(path.join(dir!, 'config.json'), 'utf8'));
  const tok = CodeTokenizer.load(path.join(dir!, 'tokenizer.json'), conf.special_tokens);
  assert.equal(tok.vocabSize, conf.model.vocab);
  const text = fs.readFileSync(path.join(__dirname, '..', 'src', 'sampler.ts'), 'utf8') + SAMPLE;
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  assert.deepEqual(ids, tok.encodeWhole(text), 'line-by-line encoding equals whole-text encoding');
  assert.ok(ids.length < text.length / 2, `a code tokenizer compresses (got ${ids.length} tokens for ${text.length} chars)`);
  assert.ok(ids.every((id) => !tok.isSpecial[id]));
  for (const id of ids) {
    const b = tok.bytes[id];
    const i = b.indexOf(10);
    assert.ok(i < 0 || i === b.length - 1, 'a newline only ends a token');
  }
});

test('line cache: a cached line does not keep the document version it was cut from alive', () => {
  const v8 = require('node:v8') as typeof import('node:v8');
  const vm = require('node:vm') as typeof import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const tok = byteTokenizer();
  const base = fs.readFileSync(path.join(__dirname, '..', 'src', 'index.ts'), 'utf8');
  gc();
  const h0 = process.memoryUsage().heapUsed;
  // 2,000 versions of a ~20 kB document, each one's open line (a slice of it) tokenized and cached
  for (let v = 0; v < 2000; v++) {
    const doc = `${base}\n// version ${v} ${'x'.repeat(v % 50)}\n`;
    tok.encodeLine(doc.slice(doc.length - 30 - (v % 7)));
  }
  gc();
  const mb = (process.memoryUsage().heapUsed - h0) / 1e6;
  // holding the versions would take 2,000 x 20 kB = 40 MB; the lines alone are well under 2 MB
  assert.ok(mb < 10, `heap grew ${mb.toFixed(1)} MB`);
});

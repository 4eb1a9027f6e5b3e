/** Test helpers: the shipped model's folder, and a small byte-level tokenizer for logic tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeTokenizer, byteLevelChars } from '../src/tokenizer';

export const ROOT = path.resolve(__dirname, '..', '..');

/** The shipped model folder (models/<name>/ with model.onnx), or undefined. */
export function shippedModelDir(): string | undefined {
  if (process.env.DIFFILL_TEST_MODEL) return process.env.DIFFILL_TEST_MODEL;
  const root = path.join(ROOT, 'models');
  if (!fs.existsSync(root)) return undefined;
  return fs
    .readdirSync(root)
    .sort()
    .map((n) => path.join(root, n))
    .find((d) => fs.existsSync(path.join(d, 'model.onnx')) && fs.existsSync(path.join(d, 'config.json')));
}

export const NO_MODEL = 'no shipped model under models/ (train and export one: training/README.md)';

export const SPECIALS = ['<|pad|>', '<|eot|>', '<|mask|>', '<|pre|>', '<|suf|>', '<|mid|>'];
export const SP = { pad: 0, eot: 1, mask: 2, pre: 3, suf: 4, mid: 5 };

/** Byte-level BPE with a few merges, newline-isolating pre-tokenizer: like the real one, smaller. */
export function byteTokenizer(merges: Array<[string, string]> = [['Ġ', 'Ġ'], ['e', 't'], ['r', 'et'], ['Ġ', 'ret']]): CodeTokenizer {
  const vocab: Record<string, number> = {};
  SPECIALS.forEach((s, i) => (vocab[s] = i));
  // vocabulary order as the Python side writes it: printable bytes first, then the remapped ones
  const chars = byteLevelChars();
  const order = [...chars.keys()].sort((x, y) => chars[x].codePointAt(0)! - chars[y].codePointAt(0)!);
  for (const b of order) vocab[chars[b]] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\n' }, behavior: 'MergedWithPrevious', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  return new CodeTokenizer(json, SP);
}

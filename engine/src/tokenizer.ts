/**
 * Byte-level BPE tokenizer of the shipped model (tokenizer.json, trained by training/prep.py).
 *
 * The pre-tokenizer ends a piece at every "\n", so a text's tokens are the concatenation of its
 * lines' tokens. The engine relies on that: lines are encoded once and cached, and a keystroke only
 * re-encodes the line being typed. Special tokens are never produced from document text (a file
 * that contains "<|eot|>" is encoded as ordinary characters); the engine inserts them by id.
 */
import * as fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

/** GPT-2's byte-level alphabet: the printable character standing for each byte 0..255. */
export function byteLevelChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const chars = new Array<string>(256);
  for (const b of bs) chars[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) chars[b] = String.fromCodePoint(256 + n++);
  return chars;
}

/** Reverse of byteLevelChars: character -> byte. */
function byteDecoderTable(): Map<string, number> {
  const m = new Map<string, number>();
  byteLevelChars().forEach((ch, b) => m.set(ch, b));
  return m;
}

export interface SpecialIds {
  pad: number;
  eot: number;
  mask: number;
  pre: number;
  suf: number;
  mid: number;
}

export class CodeTokenizer {
  readonly vocabSize: number;
  /** Raw bytes of every token (empty for special tokens). */
  readonly bytes: Uint8Array[];
  /** True for tokens that contain a newline (they always end with it). */
  readonly hasNewline: Uint8Array;
  /** True for special tokens (never proposed by the sampler except <eot>). */
  readonly isSpecial: Uint8Array;
  private readonly tok: Tokenizer;
  private readonly lineCache = new Map<string, number[]>();
  private readonly lineCacheMax: number;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });

  constructor(json: any, readonly special: SpecialIds, lineCacheMax = 50_000) {
    this.lineCacheMax = lineCacheMax;
    const vocab: Record<string, number> = json.model.vocab;
    const specials = (json.added_tokens ?? []) as Array<{ id: number; content: string }>;
    let size = 0;
    for (const id of Object.values(vocab)) size = Math.max(size, id + 1);
    for (const t of specials) size = Math.max(size, t.id + 1);
    this.vocabSize = size;
    this.bytes = new Array(size);
    this.hasNewline = new Uint8Array(size);
    this.isSpecial = new Uint8Array(size);
    const table = byteDecoderTable();
    for (const [piece, id] of Object.entries(vocab)) {
      const out: number[] = [];
      for (const ch of piece) {
        const b = table.get(ch);
        if (b === undefined) {
          out.length = 0;
          break;
        }
        out.push(b);
      }
      this.bytes[id] = Uint8Array.from(out);
      if (out.includes(10)) this.hasNewline[id] = 1;
    }
    for (const t of specials) {
      this.bytes[t.id] = new Uint8Array(0);
      this.isSpecial[t.id] = 1;
    }
    for (let i = 0; i < size; i++) if (!this.bytes[i]) this.bytes[i] = new Uint8Array(0);
    // Document text never turns into special tokens: the JS tokenizer gets no added tokens.
    const plain = { ...json, added_tokens: [] };
    this.tok = new Tokenizer(plain, {});
  }

  static load(path: string, special: SpecialIds): CodeTokenizer {
    const json = JSON.parse(fs.readFileSync(path, 'utf8'));
    return new CodeTokenizer(json, special);
  }

  /** Tokens of one line; `line` includes its trailing "\n" unless it is the last, open line. */
  encodeLine(line: string): number[] {
    const hit = this.lineCache.get(line);
    if (hit) return hit;
    const ids = line.length === 0 ? [] : this.tok.encode(line, { add_special_tokens: false }).ids;
    if (this.lineCache.size >= this.lineCacheMax) {
      // drop the oldest quarter (Map keeps insertion order)
      let n = this.lineCacheMax >> 2;
      for (const k of this.lineCache.keys()) {
        this.lineCache.delete(k);
        if (--n <= 0) break;
      }
    }
    // the key is a copy: a slice of a document would keep that whole version of it alive in V8
    // (short strings are copied by V8 itself; a lone surrogate does not survive the round trip, so
    // such a line keeps its original key)
    const copy = line.length > 12 ? Buffer.from(line, 'utf8').toString('utf8') : line;
    this.lineCache.set(copy === line ? copy : line, ids);
    return ids;
  }

  /** Tokens of one line if it is already in the line cache (no BPE work), else undefined. */
  cachedLine(line: string): number[] | undefined {
    return this.lineCache.get(line);
  }

  /** Tokens of any text, line by line (identical to encoding it whole). */
  encode(text: string): number[] {
    const out: number[] = [];
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl + 1;
      const ids = this.encodeLine(text.slice(start, end));
      for (const id of ids) out.push(id);
      start = end;
    }
    return out;
  }

  /** Tokens of the whole text in one call to the BPE (what `encode` must equal). */
  encodeWhole(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Concatenated bytes of tokens. */
  bytesOf(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.bytes[id]?.length ?? 0;
    const out = new Uint8Array(n);
    let o = 0;
    for (const id of ids) {
      const b = this.bytes[id];
      if (b) {
        out.set(b, o);
        o += b.length;
      }
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return this.utf8.decode(this.bytesOf(ids));
  }

  decodeBytes(b: Uint8Array): string {
    return this.utf8.decode(b);
  }
}

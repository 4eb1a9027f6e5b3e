/**
 * IEEE 754 half precision (fp16) packing of float32 buffers, for KV caches that wait unused: half
 * the bytes, about 3 significant decimal digits (relative error at most 2^-11, round to nearest
 * even). Written out by hand rather than with Float16Array, which the Node of older VS Code
 * builds lacks.
 */

/** fp16 bits of one float32 given as its bits. */
export function halfBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf, NaN
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa bumps the exponent, up to Inf: both correct
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

/** float32 value of fp16 bits. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * fp16 bits of every value. Values in the normal half range (nearly all of a KV cache) take a
 * branch-free rounding, the same as halfBits: adding 0xfff plus the lowest kept bit rounds to
 * nearest even, and a carry out of the mantissa lands in the exponent. The rest go through
 * halfBits. About 10 ms for a full 24m context (4.4 M values) here, against 30 ms with halfBits
 * for every value (README, Measured numbers, session 24).
 */
export function packHalf(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < out.length; i++) {
    const b = bits[i];
    const e = ((b >>> 23) & 0xff) - 112;
    if (e > 0 && e < 31) {
      const m = b & 0x7fffff;
      out[i] = ((b >>> 16) & 0x8000) | ((e << 10) + ((m + 0xfff + ((m >>> 13) & 1)) >>> 13));
    } else out[i] = halfBits(b);
  }
  return out;
}

export function unpackHalf(src: Uint16Array): Float32Array {
  const t = decodeBitsTable();
  const out = new Float32Array(src.length);
  // copied as bits: no float conversion on the way
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) o[i] = t[src[i]];
  return out;
}

let bitsTable: Uint32Array | undefined;

/** All 65,536 fp16 values as float32 bits (256 KB, built once). */
function decodeBitsTable(): Uint32Array {
  if (!bitsTable) {
    const f = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f[h] = halfValue(h);
    bitsTable = new Uint32Array(f.buffer);
  }
  return bitsTable;
}

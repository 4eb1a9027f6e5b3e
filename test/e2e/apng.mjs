// A small, dependency-free APNG writer for the README animation: takes PNG screenshots of the same
// size (8-bit RGB or RGBA, not interlaced -- what Chromium's screenshots are) and writes one animated
// PNG. Each frame after the first is stored as the rectangle that changed since the previous frame,
// so a typing animation costs little more than its first frame.
import { deflateSync, inflateSync } from 'node:zlib';

const SIG = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

const CRC_TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Decodes a non-interlaced 8-bit RGB/RGBA PNG into { width, height, rgba }. */
export function decodePng(buf) {
  if (!buf.subarray(0, 8).equals(SIG)) throw new Error('not a PNG');
  let off = 8, width = 0, height = 0, colorType = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) {
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${data[12]})`);
      }
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const prev = y ? out.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= bpp ? prev[x - bpp] : 0;
      let v = src[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) throw new Error(`bad PNG filter ${f}`);
      row[x] = v & 0xff;
    }
  }
  let rgba = out;
  if (bpp === 3) {
    rgba = Buffer.alloc(width * height * 4);
    for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
      rgba[j] = out[i]; rgba[j + 1] = out[i + 1]; rgba[j + 2] = out[i + 2]; rgba[j + 3] = 255;
    }
  }
  return { width, height, rgba };
}

// RGB scanlines of a rectangle, each row with the filter (None/Sub/Up/Paeth) that gives the smallest
// sum of absolute values, the usual heuristic.
function encodeRect(img, x0, y0, w, h) {
  const stride = w * 3;
  const rows = [];
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < h; y++) {
    const cur = Buffer.alloc(stride);
    for (let x = 0; x < w; x++) {
      const s = ((y0 + y) * img.width + x0 + x) * 4;
      cur[x * 3] = img.rgba[s]; cur[x * 3 + 1] = img.rgba[s + 1]; cur[x * 3 + 2] = img.rgba[s + 2];
    }
    let best = null, bestScore = Infinity;
    for (const f of [0, 1, 2, 4]) {
      const line = Buffer.alloc(stride + 1);
      line[0] = f;
      let score = 0;
      for (let x = 0; x < stride; x++) {
        const a = x >= 3 ? cur[x - 3] : 0, b = prev[x], c = x >= 3 ? prev[x - 3] : 0;
        let pred = 0;
        if (f === 1) pred = a;
        else if (f === 2) pred = b;
        else if (f === 4) {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const v = (cur[x] - pred) & 0xff;
        line[x + 1] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) { bestScore = score; best = line; }
    }
    rows.push(best);
    prev = cur;
  }
  return deflateSync(Buffer.concat(rows), { level: 9 });
}

function diffRect(a, b) {
  let x0 = a.width, y0 = a.height, x1 = -1, y1 = -1;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 4;
      if (a.rgba[i] !== b.rgba[i] || a.rgba[i + 1] !== b.rgba[i + 1] || a.rgba[i + 2] !== b.rgba[i + 2]) {
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * frames: [{ png: Buffer, delayMs: number }], all the same size. Identical consecutive frames are
 * merged (their delays add up). Returns the APNG as a Buffer (loops forever).
 */
export function encodeApng(frames) {
  const imgs = [];
  for (const f of frames) {
    const img = decodePng(f.png);
    const last = imgs[imgs.length - 1];
    if (last && (img.width !== last.img.width || img.height !== last.img.height)) {
      throw new Error('APNG frames must all have the same size');
    }
    if (last && !diffRect(last.img, img)) { last.delayMs += f.delayMs; continue; }
    imgs.push({ img, delayMs: f.delayMs });
  }
  const { width, height } = imgs[0].img;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(imgs.length, 0); actl.writeUInt32BE(0, 4); // loop forever
  const parts = [SIG, chunk('IHDR', ihdr), chunk('acTL', actl)];
  let seq = 0;
  imgs.forEach(({ img, delayMs }, i) => {
    const r = i === 0 ? { x: 0, y: 0, w: width, h: height } : diffRect(imgs[i - 1].img, img);
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(seq++, 0);
    fctl.writeUInt32BE(r.w, 4); fctl.writeUInt32BE(r.h, 8);
    fctl.writeUInt32BE(r.x, 12); fctl.writeUInt32BE(r.y, 16);
    fctl.writeUInt16BE(Math.max(1, Math.round(delayMs)), 20); fctl.writeUInt16BE(1000, 22);
    fctl[24] = 0; // dispose: none
    fctl[25] = 0; // blend: source
    parts.push(chunk('fcTL', fctl));
    const data = encodeRect(img, r.x, r.y, r.w, r.h);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const sq = Buffer.alloc(4);
      sq.writeUInt32BE(seq++);
      parts.push(chunk('fdAT', Buffer.concat([sq, data])));
    }
  });
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

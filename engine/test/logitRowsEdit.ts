/**
 * Test helper: the shipped graph with the `logit_rows` input added (engine/model-format.md), the
 * edit training/logit_rows.py makes in Python, done here on the protobuf bytes so that the engine's
 * use of that input is tested before a model exported with it ships. One Gather node is inserted in
 * front of the node that writes `logits`, the input is declared and the output's row dimension
 * renamed; every other byte (the weights) is copied as it is.
 *
 * Session 20 also tried this as a load-time edit for every model: it saved 7 % of a 414-token
 * extension (median 148 against 159 ms) but cost 350 ms of load on this machine (two 27 MB copies
 * on slow page faults), so it stayed a test helper.
 */

export const LOGIT_ROWS = 'logit_rows';

interface Field {
  no: number;
  wire: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** Length-delimited fields: the payload. */
  body?: Uint8Array;
}

function varint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  throw new Error('varint too long');
}

/** The fields of one message, in order (not recursive). */
function scan(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p] = varint(buf, pos);
    pos = p;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) pos = varint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, q] = varint(buf, pos);
      if (q + len > buf.length) throw new Error('truncated field');
      out.push({ no, wire, start, end: q + len, body: buf.subarray(q, q + len) });
      pos = q + len;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw new Error('truncated field');
    out.push({ no, wire, start, end: pos });
  }
  return out;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function encVarint(v: number): number[] {
  const b: number[] = [];
  while (v >= 128) {
    b.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  b.push(v);
  return b;
}

/** A length-delimited field. */
function bytesField(no: number, body: Uint8Array): Uint8Array {
  const head = [...encVarint(no * 8 + 2), ...encVarint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

function strField(no: number, s: string): Uint8Array {
  return bytesField(no, utf8.encode(s));
}

function intField(no: number, v: number): Uint8Array {
  return Uint8Array.from([...encVarint(no * 8), ...encVarint(v)]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function strings(fields: Field[], no: number): string[] {
  return fields.filter((f) => f.no === no && f.body).map((f) => text.decode(f.body));
}

// ONNX protobuf field numbers (onnx.proto3)
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP = 4;
const NODE_ATTR = 5;
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_TYPE = 20;
const ATTR_TYPE_INT = 2;
const VI_NAME = 1;
const VI_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_ELEM = 1;
const TENSOR_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;
const INT64 = 7;
const FLOAT = 1;

/** A tensor value info: dims are numbers (fixed) or names (symbolic). */
function valueInfo(name: string, elem: number, dims: Array<number | string>): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(SHAPE_DIM, typeof d === 'number' ? intField(DIM_VALUE, d) : strField(DIM_PARAM, d))));
  const tensor = concat([intField(TENSOR_ELEM, elem), bytesField(TENSOR_SHAPE, shape)]);
  return concat([strField(VI_NAME, name), bytesField(VI_TYPE, bytesField(TYPE_TENSOR, tensor))]);
}

/** The graph's input names (cheap: reads no weights). */
export function graphInputs(model: Uint8Array): string[] {
  const g = scan(model).find((f) => f.no === MODEL_GRAPH && f.body);
  if (!g?.body) throw new Error('not an ONNX model: no graph');
  return scan(g.body)
    .filter((f) => f.no === GRAPH_INPUT && f.body)
    .map((f) => strings(scan(f.body!), VI_NAME)[0] ?? '');
}

/**
 * The model with `logit_rows` (see the header), or undefined when it has the input already or no
 * node writes `logits` with a [1, N, vocab] output to rename. Throws on bytes that are not a model.
 */
export function addLogitRows(model: Uint8Array, vocab: number): Uint8Array | undefined {
  const top = scan(model);
  const gi = top.findIndex((f) => f.no === MODEL_GRAPH && f.body);
  if (gi < 0) throw new Error('not an ONNX model: no graph');
  const graph = scan(top[gi].body!);
  const inputs = graph.filter((f) => f.no === GRAPH_INPUT && f.body).map((f) => strings(scan(f.body!), VI_NAME)[0]);
  if (inputs.includes(LOGIT_ROWS)) return undefined;
  const headAt = graph.findIndex((f) => f.no === GRAPH_NODE && f.body && strings(scan(f.body), NODE_OUTPUT).includes('logits'));
  const outAt = graph.findIndex((f) => f.no === GRAPH_OUTPUT && f.body && strings(scan(f.body), VI_NAME)[0] === 'logits');
  if (headAt < 0 || outAt < 0) return undefined;

  const head = scan(graph[headAt].body!);
  const firstInput = head.findIndex((f) => f.no === NODE_INPUT);
  if (firstInput < 0) return undefined;
  const x = text.decode(head[firstInput].body);
  const rows = `${x}/logit_rows`;
  // the head reads the gathered rows; every other field of the node as it was
  const headNode = concat(head.map((f, i) => (i === firstInput ? strField(NODE_INPUT, rows) : graph[headAt].body!.subarray(f.start, f.end))));
  const axis = concat([strField(ATTR_NAME, 'axis'), intField(ATTR_I, 1), intField(ATTR_TYPE, ATTR_TYPE_INT)]);
  const gather = concat([strField(NODE_INPUT, x), strField(NODE_INPUT, LOGIT_ROWS), strField(NODE_OUTPUT, rows), strField(NODE_NAME, 'logit_rows/gather'), strField(NODE_OP, 'Gather'), bytesField(NODE_ATTR, axis)]);

  const body = top[gi].body!;
  const parts: Uint8Array[] = [];
  graph.forEach((f, i) => {
    if (i === headAt) {
      parts.push(bytesField(GRAPH_NODE, gather), bytesField(GRAPH_NODE, headNode));
    } else if (i === outAt) {
      parts.push(bytesField(GRAPH_OUTPUT, valueInfo('logits', FLOAT, [1, 'R', vocab])));
    } else parts.push(body.subarray(f.start, f.end));
  });
  parts.push(bytesField(GRAPH_INPUT, valueInfo(LOGIT_ROWS, INT64, ['R'])));
  const newGraph = concat(parts);
  return concat([model.subarray(0, top[gi].start), bytesField(MODEL_GRAPH, newGraph), model.subarray(top[gi].end)]);
}

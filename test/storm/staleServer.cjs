// A deliberately wrong language server for the storm's self-test: it answers every inline
// completion with an item 60 ms later, whatever the edits and cancellations since. The storm's
// stale-answer check must catch it.
'use strict';
let buf = Buffer.alloc(0);
const send = (msg) => {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  process.stdout.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
};
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString())[1]);
    if (buf.length < end + 4 + len) return;
    const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString());
    buf = buf.subarray(end + 4 + len);
    if (msg.method === 'initialize') send({ id: msg.id, result: { capabilities: { inlineCompletionProvider: true } } });
    else if (msg.method === 'initialized') send({ method: 'diffill/status', params: { state: 'ready' } });
    else if (msg.method === 'textDocument/inlineCompletion') setTimeout(() => send({ id: msg.id, result: [{ insertText: 'stale' }] }), 60);
    else if (msg.method === 'shutdown') send({ id: msg.id, result: null });
    else if (msg.method === 'exit') process.exit(0);
    else if (msg.id !== undefined && msg.method) send({ id: msg.id, error: { code: -32601, message: `unhandled ${msg.method}` } });
  }
});
process.stdin.on('end', () => process.exit(1));

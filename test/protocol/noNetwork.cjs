// Preloaded with `node --require` by the privacy test: every way a Node program reaches the
// network throws, and each attempt is appended to the file named by DIFFILL_NET_LOG (one JSON line:
// what was called, with which host/port, from where).
'use strict';
const fs = require('node:fs');

const LOG = process.env.DIFFILL_NET_LOG;

function describe(args) {
  return args.slice(0, 3).map((a) => {
    if (a === null || typeof a !== 'object') return typeof a === 'function' ? '[function]' : a;
    return { host: a.host ?? a.hostname, port: a.port, path: a.path, href: a.href };
  });
}

function record(what, args) {
  const line = JSON.stringify({ what, args: describe(args), stack: new Error().stack.split('\n').slice(2, 8).join('\n') });
  if (LOG) fs.appendFileSync(LOG, `${line}\n`);
}

function trap(mod, name, label) {
  const target = typeof mod === 'string' ? require(mod) : mod;
  if (typeof target?.[name] !== 'function') return;
  target[name] = function blocked(...args) {
    record(label, args);
    throw new Error(`network access blocked in this test: ${label}`);
  };
}

for (const m of ['node:net']) {
  trap(m, 'connect', 'net.connect');
  trap(m, 'createConnection', 'net.createConnection');
}
trap(require('node:net').Socket.prototype, 'connect', 'net.Socket#connect');
trap('node:tls', 'connect', 'tls.connect');
for (const fn of ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname', 'resolveMx', 'resolveTxt', 'resolveSrv', 'resolveNs', 'reverse']) {
  trap('node:dns', fn, `dns.${fn}`);
  trap(require('node:dns').promises, fn, `dns.promises.${fn}`);
}
trap(require('node:dns').Resolver.prototype, 'resolve', 'dns.Resolver#resolve');
for (const m of ['node:http', 'node:https']) {
  trap(m, 'request', `${m.slice(5)}.request`);
  trap(m, 'get', `${m.slice(5)}.get`);
}
trap('node:http2', 'connect', 'http2.connect');
trap('node:dgram', 'createSocket', 'dgram.createSocket');
if (typeof globalThis.fetch === 'function') trap(globalThis, 'fetch', 'fetch');
if (typeof globalThis.WebSocket === 'function') {
  globalThis.WebSocket = function WebSocket(...args) {
    record('WebSocket', args);
    throw new Error('network access blocked in this test: WebSocket');
  };
}
require('node:module').syncBuiltinESMExports();

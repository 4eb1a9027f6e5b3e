/**
 * The typing storm: 20 open documents (corpus.json: 10 Python, 10 TypeScript), keystrokes replayed
 * in real time in bursts of 50 per second, each followed by a textDocument/inlineCompletion request
 * as VS Code issues them (didChange, then $/cancelRequest for the previous request, then the new
 * request). It measures what a user would feel and what would hurt them:
 *
 * - crashes: the server process exits, or reports an uncaught exception (must be 0);
 * - stale answers (must be 0), defined from the ordering of one JSON-RPC stream: the server reads
 *   messages in order and writes responses in order, so once the client has received the answer to
 *   a request q, the server had read every message sent before q. After each keystroke the storm
 *   sends a fence: a request for a method no server has (`diffill/stormFence`), answered at once
 *   with MethodNotFound. An answer with items to request r (for version v of document d) is *stale*
 *   when it arrives after the answer to a fence sent after a didChange that took d past v: the
 *   server wrote it when it had already read that d changed. An answer with items that arrives
 *   after such a didChange was sent but before its fence came back was in flight when the user
 *   typed: counted as *raced* (VS Code drops it: it cancelled r). The self-test in storm.test.ts
 *   checks that a server answering outdated versions is caught;
 * - errors other than RequestCancelled and requests never answered (must be 0);
 * - latency of answered requests, and of the last request of each burst (the one a user waits on);
 * - the server's resident memory (VmRSS) after the model loaded, after warm-up and at the end.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { DiffillSettings, StatusParams } from '../../server/src/protocol';
import { LspClient } from '../protocol/lspClient';
import { REQUEST_CANCELLED, rssKiB } from '../protocol/session';
import { seeded as rng } from '../../engine/src/random';

/**
 * Model fills before memory counts as warm: the engine keeps a few documents' KV caches (3 for the
 * 21m) and ONNX Runtime's buffers grow to the largest context seen. 10 was too few for the 21m: a
 * CI run measured 12.9 % "growth" that a longer storm showed to be the tail of warm-up.
 */
const MIN_WARM_FILLS = 25;

export interface StormOptions {
  server: string;
  settings: DiffillSettings;
  keystrokes: number;
  seed: number;
  /**
   * Keystrokes of warm-up: the engine's per-document KV caches fill up and V8's heap finds its
   * size. Memory "after warm-up" is the median of the samples taken over the next 10 % of the
   * keystrokes; memory "at the end" the median over the last 10 % (medians: one sample may catch a
   * fill's transient buffers or a GC that has not run yet).
   */
  warmupKeystrokes: number;
  /** Keystrokes per burst, and the pause after one (ms). */
  burst: [number, number];
  pauseMs: [number, number];
  /** Time between keystrokes within a burst: 20 ms = 50 per second. */
  keyIntervalMs: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Before the first keystroke, one completion in the middle of every document, each awaited
   * (default on): every document's full context has then been through the model once, so the
   * KV caches hold full contexts and ONNX Runtime's buffers have seen the largest shapes, and
   * memory after warm-up is memory at its working size rather than on its way there (without
   * it, a 2,000-key CI run read 10.9 % "growth" from documents first visited late in the storm).
   * Not counted in the figures.
   */
  tour?: boolean;
  /** Progress lines (every ~10 %). */
  progress?: (line: string) => void;
}

export const STORM_DEFAULTS: Omit<StormOptions, 'server' | 'settings'> = {
  keystrokes: 10_000,
  seed: 1,
  warmupKeystrokes: 3_000,
  burst: [20, 80],
  pauseMs: [150, 600],
  keyIntervalMs: 20,
};

export interface StormReport {
  keystrokes: number;
  documents: { python: number; typescript: number };
  seed: number;
  durationS: number;
  requests: number;
  answered: number;
  cancelled: number;
  withItems: number;
  crashes: number;
  stale: number;
  raced: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  burstFinalLatencyMs: { n: number; p50: number; p95: number; max: number };
  cancelToAnswerMs: { p50: number; p95: number };
  rssMiB: { loaded: number; toured: number; warm: number; warmAtKey: number; end: number; peak: number; growthPct: number; slopePer1kKeys: number };
  replayLateMs: { p95: number; max: number };
  serverSources: Record<string, number>;
  /** The engine's fills, from the server's log: how many, their time, how many hit the budget. */
  fills: { n: number; p50Ms: number; p95Ms: number; maxMs: number; truncated: number };
  settings: { latencyBudgetMs: number; debounceMs: number };
  passed: boolean;
  failures: string[];
}

interface CorpusDoc {
  name: string;
  languageId: string;
  text: string;
}

interface Key {
  /** Planned time from the start, ms. */
  at: number;
  doc: number;
  version: number;
  change: { range: { start: Pos; end: Pos }; text: string };
  /** Cursor after the change: where the request asks. */
  cursor: Pos;
  /** The last keystroke of a burst: nobody types over its answer. */
  burstFinal: boolean;
}

interface Pos {
  line: number;
  character: number;
}

export function loadCorpus(): CorpusDoc[] {
  return JSON.parse(readFileSync(path.join(__dirname, 'corpus.json'), 'utf8'));
}


/**
 * The keystrokes, planned ahead from the seed: in each document a few lines are cut out (one
 * keystroke: select and delete), then typed again character by character — Enter inserts the next
 * line's indentation too, as editors do; now and then a typo and its backspace, or the rest of a
 * line at once (a suggestion accepted with Tab). Bursts of `burst` keys, `keyIntervalMs` apart,
 * then a pause; after a pause the user may switch to another document.
 */
export function planStorm(corpus: CorpusDoc[], o: Pick<StormOptions, 'keystrokes' | 'seed' | 'burst' | 'pauseMs' | 'keyIntervalMs'>): Key[] {
  const rand = rng(o.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const docs = corpus.map((d, i) => ({
    doc: TextDocument.create(`file:///storm/${i}-${d.name}`, d.languageId, 1, d.text),
    target: '',
    cursor: 0,
    typo: false,
  }));
  const keys: Key[] = [];
  let t = 0;
  let current = int(0, docs.length - 1);
  while (keys.length < o.keystrokes) {
    const n = Math.min(int(o.burst[0], o.burst[1]), o.keystrokes - keys.length);
    for (let k = 0; k < n; k++) {
      const d = docs[current];
      const text = d.doc.getText();
      let start = d.cursor;
      let end = d.cursor;
      let insert = '';
      if (d.typo) {
        start = d.cursor - 1; // backspace over the typo
        d.typo = false;
      } else if (d.target === '') {
        // Cut a few lines after their indentation: they are typed again.
        const lines = text.split('\n');
        let line = int(0, Math.max(0, lines.length - 2));
        for (let tries = 0; tries < 50 && lines[line].trim().length < 8; tries++) line = int(0, Math.max(0, lines.length - 2));
        const count = int(1, 5);
        const indent = /^[ \t]*/.exec(lines[line])![0].length;
        start = d.doc.offsetAt({ line, character: indent });
        end = d.doc.offsetAt({ line: Math.min(lines.length - 1, line + count - 1), character: Number.MAX_SAFE_INTEGER });
        if (end - start > 600) end = start + 600;
        if (end <= start) end = Math.min(text.length, start + 1);
        d.target = text.slice(start, end);
      } else if (rand() < 0.03 && d.target[0] !== '\n') {
        insert = String.fromCharCode(97 + int(0, 25));
        d.typo = true;
      } else if (rand() < 0.02 && d.target.indexOf('\n') > 3) {
        insert = d.target.slice(0, d.target.indexOf('\n')); // the rest of the line accepted at once
        d.target = d.target.slice(insert.length);
      } else if (d.target[0] === '\n') {
        const indent = /^\n[ \t]*/.exec(d.target)![0];
        insert = indent;
        d.target = d.target.slice(indent.length);
      } else {
        insert = d.target[0];
        d.target = d.target.slice(1);
      }
      const range = { start: d.doc.positionAt(start), end: d.doc.positionAt(end) };
      const version = d.doc.version + 1;
      d.doc = TextDocument.update(d.doc, [{ range, text: insert }], version);
      d.cursor = start + insert.length;
      keys.push({ at: t, doc: current, version, change: { range, text: insert }, cursor: d.doc.positionAt(d.cursor), burstFinal: k === n - 1 });
      t += o.keyIntervalMs;
    }
    t += int(o.pauseMs[0], o.pauseMs[1]) - o.keyIntervalMs;
    if (rand() < 0.3) current = int(0, docs.length - 1);
  }
  return keys;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const round = (x: number) => Math.round(x * 10) / 10;

/** Least-squares slope of y over x (0 with fewer than two points). */
function slope(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent {
  doc: number;
  version: number;
  seq: number;
  sentAt: number;
  burstFinal: boolean;
  answered?: boolean;
  cancelledAt?: number;
}

export async function runStorm(o: StormOptions): Promise<StormReport> {
  const corpus = loadCorpus();
  const plan = planStorm(corpus, o);
  const uris = corpus.map((d, i) => `file:///storm/${i}-${d.name}`);
  const c = LspClient.spawn(o.server, ['--stdio'], o.env ?? process.env);
  const failures: string[] = [];
  let crashed = false;
  void c.exited.then(() => (crashed = true));

  try {
    await c.initialize({ settings: o.settings });
    const ready = await c.waitForNotification('diffill/status', (p: StatusParams) => p.state === 'ready' || p.state === 'error', 120_000);
    if ((ready.params as StatusParams).state !== 'ready') throw new Error(`model not ready: ${JSON.stringify(ready.params)}`);
    corpus.forEach((d, i) => c.notify('textDocument/didOpen', { textDocument: { uri: uris[i], languageId: d.languageId, version: 1, text: d.text } }));
    await sleep(500);
    const rssLoaded = rssKiB(c.pid) ?? 0;
    let tourFills = 0;
    if (o.tour ?? true) {
      for (let i = 0; i < corpus.length && !crashed; i++) {
        const middle = corpus[i].text.split('\n').length >> 1;
        const r = c.send('textDocument/inlineCompletion', { textDocument: { uri: uris[i] }, position: { line: middle, character: 0 }, context: { triggerKind: 1 } }, 60_000);
        await r.result.then(
          () => tourFills++,
          () => undefined,
        );
      }
      if (tourFills === 0) failures.push('the tour before the storm got no answer');
    }
    const rssToured = rssKiB(c.pid) ?? 0;
    await sleep(200); // the tour's log lines arrive; they are not the storm's
    const firstNote = c.notifications.length;
    const rss: Array<{ key: number; kib: number }> = [];
    let keyIndex = 0;
    // the keystroke at which the server had logged its n-th model fill
    const fillKeys: number[] = [];
    let seen = firstNote;
    const countFills = () => {
      for (; seen < c.notifications.length; seen++) {
        const n = c.notifications[seen];
        if (n.method === 'window/logMessage' && /^fill \w+: /.test((n.params as { message: string }).message)) fillKeys.push(keyIndex);
      }
    };
    const sampler = setInterval(() => {
      countFills();
      const kib = rssKiB(c.pid);
      if (kib !== undefined) rss.push({ key: keyIndex, kib });
    }, 250);

    // Stream order bookkeeping (see the header): every message gets a sequence number.
    let seq = 0;
    const changes: Array<{ seq: number; doc: number; version: number }> = [];
    let acked = 0; // changes[0..acked) were read by the server
    let ackedSeq = -1;
    const ackedVersion = new Array<number>(uris.length).fill(1);
    const sentVersion = new Array<number>(uris.length).fill(1);
    const byId = new Map<number, Sent>();
    let stale = 0;
    let raced = 0;
    let withItems = 0;
    let errors = 0;
    const staleExamples: string[] = [];

    const fences = new Map<number, number>(); // request id → seq
    const ack = (upTo: number) => {
      ackedSeq = Math.max(ackedSeq, upTo);
      while (acked < changes.length && changes[acked].seq < ackedSeq) {
        const ch = changes[acked++];
        ackedVersion[ch.doc] = Math.max(ackedVersion[ch.doc], ch.version);
      }
    };
    c.onResponse = (msg) => {
      const fence = typeof msg.id === 'number' ? fences.get(msg.id) : undefined;
      if (fence !== undefined) {
        fences.delete(msg.id as number);
        ack(fence);
        return;
      }
      const r = typeof msg.id === 'number' ? byId.get(msg.id) : undefined;
      if (!r) return;
      r.answered = true;
      const result = msg.result as unknown;
      const list = Array.isArray(result) ? result : (result as { items?: unknown[] } | null)?.items ?? [];
      if (!msg.error && list.length > 0) {
        withItems++;
        if (ackedVersion[r.doc] > r.version) {
          stale++;
          if (staleExamples.length < 5) staleExamples.push(`#${msg.id} doc ${r.doc} v${r.version}, server had v${ackedVersion[r.doc]}`);
        } else if (sentVersion[r.doc] > r.version) raced++;
      }
      if (msg.error && msg.error.code !== REQUEST_CANCELLED) errors++;
      ack(r.seq);
    };

    const latencies: number[] = [];
    const finalLatencies: number[] = [];
    const cancelToAnswer: number[] = [];
    const late: number[] = [];
    let cancelled = 0;
    let timeouts = 0;
    const pending: Array<Promise<void>> = [];
    let previous: { id: number; sent: Sent } | undefined;
    const t0 = performance.now();
    let nextProgress = 0.1;

    for (let i = 0; i < plan.length && !crashed; i++) {
      const k = plan[i];
      keyIndex = i;
      const wait = t0 + k.at - performance.now();
      if (wait > 1) await sleep(wait);
      late.push(Math.max(0, performance.now() - (t0 + k.at)));

      c.notify('textDocument/didChange', { textDocument: { uri: uris[k.doc], version: k.version }, contentChanges: [k.change] });
      changes.push({ seq: seq++, doc: k.doc, version: k.version });
      sentVersion[k.doc] = k.version;
      if (previous && !previous.sent.answered && previous.sent.cancelledAt === undefined) {
        c.cancel(previous.id);
        previous.sent.cancelledAt = performance.now();
      }
      const sent: Sent = { doc: k.doc, version: k.version, seq: seq++, sentAt: performance.now(), burstFinal: k.burstFinal };
      const req = c.send('textDocument/inlineCompletion', { textDocument: { uri: uris[k.doc] }, position: k.cursor, context: { triggerKind: 2 } }, 30_000);
      byId.set(req.id, sent);
      previous = { id: req.id, sent };
      const f = c.send('diffill/stormFence', {}, 30_000);
      fences.set(f.id, seq++);
      f.result.catch(() => undefined); // MethodNotFound: only its arrival matters
      pending.push(
        req.result.then(
          () => {
            const ms = performance.now() - sent.sentAt;
            latencies.push(ms);
            if (sent.burstFinal && sent.cancelledAt === undefined) finalLatencies.push(ms);
            if (sent.cancelledAt !== undefined) cancelToAnswer.push(performance.now() - sent.cancelledAt);
            byId.delete(req.id);
          },
          (err: Error & { error?: { code: number } }) => {
            if (err.error?.code === REQUEST_CANCELLED) {
              cancelled++;
              if (sent.cancelledAt !== undefined) cancelToAnswer.push(performance.now() - sent.cancelledAt);
            } else if (/got no answer/.test(err.message)) timeouts++;
            byId.delete(req.id);
          },
        ),
      );

      if ((i + 1) / plan.length >= nextProgress) {
        o.progress?.(`${i + 1} keystrokes, ${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${((rssKiB(c.pid) ?? 0) / 1024).toFixed(0)} MiB, stale ${stale}, errors ${errors}`);
        nextProgress += 0.1;
      }
    }
    await Promise.all(pending);
    const durationS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const rssPeak = rssKiB(c.pid, 'VmHWM') ?? 0;
    const tenth = Math.max(1, Math.floor(plan.length / 10));
    const windowMedian = (from: number, to: number) => pct(rss.filter((x) => x.key >= from && x.key < to).map((x) => x.kib), 50);
    countFills();
    // warm-up ends after its keystrokes *and* MIN_WARM_FILLS model fills: on a loaded machine most
    // requests are cancelled, and the first fills still allocate (KV caches of 4 documents, ONNX
    // Runtime's buffers), which is not growth (a CI run: 18 fills in 1,000 keys, 13 % "growth")
    const warmKey = Math.min(Math.max(o.warmupKeystrokes, fillKeys[MIN_WARM_FILLS - 1] ?? plan.length), plan.length - 2 * tenth);
    const rssWarm = windowMedian(warmKey, warmKey + tenth) || rssLoaded;
    const rssEnd = windowMedian(plan.length - tenth, plan.length) || (rssKiB(c.pid) ?? 0);
    const after = rss.filter((x) => x.key >= warmKey);
    const slopePer1kKeys = slope(after.map((x) => x.key), after.map((x) => x.kib / 1024)) * 1000;

    const serverSources: Record<string, number> = {};
    const fillMs: number[] = [];
    let truncated = 0;
    for (const n of c.notifications.slice(firstNote)) {
      if (n.method !== 'window/logMessage') continue;
      const line = (n.params as { message: string }).message;
      const f = /^fill \w+: (\d+) ms/.exec(line);
      if (f) {
        fillMs.push(Number(f[1]));
        if (line.includes('truncated')) truncated++;
      }
      const m = /^inlineCompletion (\S+)(?: \((\w+)\))?:/.exec(line);
      if (m) serverSources[m[2] ? `${m[1]}/${m[2]}` : m[1]] = (serverSources[m[2] ? `${m[1]}/${m[2]}` : m[1]] ?? 0) + 1;
    }
    const uncaught = /uncaught exception|unhandled rejection/i.test(c.stderr);
    const crashes = (crashed || !c.alive ? 1 : 0) + (uncaught ? 1 : 0);
    const exitCode = crashes === 0 ? await c.shutdownAndExit(30_000) : null;
    if (crashes === 0 && exitCode !== 0) failures.push(`shutdown exit code ${exitCode}`);

    const growthPct = rssWarm > 0 ? ((rssEnd - rssWarm) / rssWarm) * 100 : 0;
    if (crashes > 0) failures.push(`crashes: ${crashes}\n${c.stderr.slice(-2000)}`);
    if (stale > 0) failures.push(`stale answers: ${stale} (${staleExamples.join('; ')})`);
    if (errors > 0) failures.push(`errors: ${errors}`);
    if (timeouts > 0) failures.push(`unanswered requests: ${timeouts}`);
    if (growthPct > 10) failures.push(`RSS grew ${growthPct.toFixed(1)} % after warm-up (limit 10 %)`);

    return {
      keystrokes: plan.length,
      documents: { python: corpus.filter((d) => d.languageId === 'python').length, typescript: corpus.filter((d) => d.languageId === 'typescript').length },
      seed: o.seed,
      durationS: round(durationS),
      requests: plan.length,
      answered: latencies.length,
      cancelled,
      withItems,
      crashes,
      stale,
      raced,
      errors,
      timeouts,
      latencyMs: { p50: round(pct(latencies, 50)), p95: round(pct(latencies, 95)), p99: round(pct(latencies, 99)), max: round(pct(latencies, 100)) },
      burstFinalLatencyMs: { n: finalLatencies.length, p50: round(pct(finalLatencies, 50)), p95: round(pct(finalLatencies, 95)), max: round(pct(finalLatencies, 100)) },
      cancelToAnswerMs: { p50: round(pct(cancelToAnswer, 50)), p95: round(pct(cancelToAnswer, 95)) },
      ...(process.env.STORM_SAMPLES ? { samples: rss.map((x) => [x.key, Math.round(x.kib / 1024)]) } : {}),
      rssMiB: { loaded: round(rssLoaded / 1024), toured: round(rssToured / 1024), warm: round(rssWarm / 1024), warmAtKey: warmKey, end: round(rssEnd / 1024), peak: round(rssPeak / 1024), growthPct: round(growthPct), slopePer1kKeys: round(slopePer1kKeys) },
      replayLateMs: { p95: round(pct(late, 95)), max: round(pct(late, 100)) },
      serverSources,
      fills: { n: fillMs.length, p50Ms: pct(fillMs, 50), p95Ms: pct(fillMs, 95), maxMs: pct(fillMs, 100), truncated },
      settings: { latencyBudgetMs: o.settings.latencyBudgetMs, debounceMs: o.settings.debounceMs },
      passed: failures.length === 0,
      failures,
    };
  } finally {
    c.kill();
  }
}

/** The report as a Markdown table (also what the README shows). */
export function formatTable(r: StormReport): string {
  const rows: Array<[string, string, string]> = [
    ['keystrokes (= inlineCompletion requests)', `${r.keystrokes}`, ''],
    ['documents', `${r.documents.python} Python + ${r.documents.typescript} TypeScript`, ''],
    ['wall time', `${r.durationS} s`, ''],
    ['crashes', `${r.crashes}`, '0'],
    ['stale answers returned', `${r.stale}`, '0'],
    ['errors (other than RequestCancelled) / unanswered', `${r.errors} / ${r.timeouts}`, '0 / 0'],
    ['answered / cancelled', `${r.answered} / ${r.cancelled}`, ''],
    ['answers with items', `${r.withItems}`, ''],
    ['answers in flight when the next key was sent (dropped by the editor)', `${r.raced}`, ''],
    ['latency p50 / p95 / max, answered requests', `${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.max} ms`, ''],
    [`latency p50 / p95, last key of a burst (n = ${r.burstFinalLatencyMs.n})`, `${r.burstFinalLatencyMs.p50} / ${r.burstFinalLatencyMs.p95} ms`, ''],
    ['model fills: count (hit the budget) · p50 / p95 / max', `${r.fills.n} (${r.fills.truncated}) · ${r.fills.p50Ms} / ${r.fills.p95Ms} / ${r.fills.maxMs} ms`, ''],
    ['$/cancelRequest → answer p50 / p95', `${r.cancelToAnswerMs.p50} / ${r.cancelToAnswerMs.p95} ms`, ''],
    ['server RSS: model loaded / after the tour / after warm-up (from key) / end / peak', `${r.rssMiB.loaded} / ${r.rssMiB.toured} / ${r.rssMiB.warm} (${r.rssMiB.warmAtKey}) / ${r.rssMiB.end} / ${r.rssMiB.peak} MiB`, ''],
    ['RSS growth after warm-up (trend)', `${r.rssMiB.growthPct} % (${r.rssMiB.slopePer1kKeys >= 0 ? '+' : ''}${r.rssMiB.slopePer1kKeys} MiB per 1,000 keys)`, '≤ 10 %'],
    ['replay lateness p95 / max (client timer)', `${r.replayLateMs.p95} / ${r.replayLateMs.max} ms`, ''],
  ];
  return ['| measure | value | must be |', '|---|---|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

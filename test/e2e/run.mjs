#!/usr/bin/env node
// Diffill end-to-end test: the packaged extension in a real VS Code (code-server 4.139.1, VS Code
// 1.139, run on Node 24), driven with keystrokes by headless Chromium through playwright-core.
//
//   node test/e2e/run.mjs              # DIFFILL_VSIX=path, or the newest *.vsix at the repo root
//   node test/e2e/run.mjs --media      # also writes the screenshots and the animation to media/
//   node test/e2e/run.mjs --self-test  # the harness against a stub extension (no model needed)
//
// Needs `bash test/e2e/setup.sh` first. Everything it writes lives in test/e2e/.work/ (screenshots
// and logs in test/e2e/.work/artifacts/); it stops only the processes it started. Its last line is
// "N passed, N failed, N skipped", which is what CI counts.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeApng } from './apng.mjs';
import { makeZip } from './zip.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const WORK = path.join(HERE, '.work');
const RUN = path.join(WORK, 'run');
const ART = path.join(WORK, 'artifacts');
const MEDIA = path.join(ROOT, 'media');
const NODE24 = path.join(HERE, 'node_modules', '.bin', 'node');
const CS_ENTRY = path.join(HERE, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = process.env.DIFFILL_E2E_CHROMIUM || '/usr/bin/chromium';

const args = new Set(process.argv.slice(2));
const SELF_TEST = args.has('--self-test');
const MEDIA_OUT = args.has('--media') || process.env.DIFFILL_E2E_MEDIA === '1';
const HEADFUL_SLOWMO = Number(process.env.DIFFILL_E2E_SLOWMO || 0);
const HARD_TIMEOUT_MS = Number(process.env.DIFFILL_E2E_TIMEOUT_MS || 8 * 60_000);
// How long to wait for the first ghost text (the model loads on first use) and for later ones.
const FIRST_GHOST_MS = Number(process.env.DIFFILL_E2E_FIRST_GHOST_MS || 90_000);
const GHOST_MS = Number(process.env.DIFFILL_E2E_GHOST_MS || 30_000);
const LATENCY_BUDGET_MS = Number(process.env.DIFFILL_E2E_LATENCY_BUDGET_MS || 1000);
// For development only: point the extension at a model folder instead of the one in the .vsix.
const MODEL_PATH = process.env.DIFFILL_E2E_MODEL_PATH ? path.resolve(process.env.DIFFILL_E2E_MODEL_PATH) : null;

const t0 = Date.now();
const log = (...a) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Test bookkeeping

const results = [];
class Skip extends Error {}
let timedOut = false; // set by the hard limit: from then on nothing more is run or recorded
async function test(name, fn) {
  if (timedOut) return;
  const start = Date.now();
  log(`--- ${name}`);
  try {
    await fn();
    results.push({ name, status: 'passed', ms: Date.now() - start });
    log(`PASS ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    if (timedOut) return;
    if (e instanceof Skip) {
      results.push({ name, status: 'skipped', ms: Date.now() - start, detail: e.message });
      log(`SKIP ${name}: ${e.message}`);
    } else {
      results.push({ name, status: 'failed', ms: Date.now() - start, detail: e?.stack || String(e) });
      log(`FAIL ${name}: ${e?.stack || e}`);
      await shot(`failure-${slug(name)}`).catch(() => {});
    }
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

function summary() {
  const n = (s) => results.filter((r) => r.status === s).length;
  console.log('');
  for (const r of results) {
    console.log(`  ${r.status.padEnd(7)} ${r.name}${r.detail ? ` -- ${r.detail.split('\n')[0]}` : ''}`);
  }
  console.log(`${n('passed')} passed, ${n('failed')} failed, ${n('skipped')} skipped`);
  return n('failed') === 0 && n('passed') > 0;
}

// ---------------------------------------------------------------------------------------------
// Processes we start, and stopping them (by PID only)

let server = null; // code-server, spawned detached: it leads its own process group
let browser = null;
let page = null;
let stopping = null;

/** Stops the browser and code-server's process group; every caller awaits the same stop. */
function stopAll() {
  stopping ??= doStop();
  return stopping;
}
async function doStop() {
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), sleep(10_000)]);
    browser = null;
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    const pgid = server.pid;
    try { process.kill(-pgid, 'SIGTERM'); } catch {}
    for (let i = 0; i < 50 && server.exitCode === null && server.signalCode === null; i++) await sleep(100);
    // The group also holds the extension host and the language server it spawned.
    try { process.kill(-pgid, 'SIGKILL'); } catch {}
  }
}

// ---------------------------------------------------------------------------------------------
// Workspace, settings, extension

const PY_FILE = 'geometry.py';
const PY_TEXT = `"""Geometry helpers (Diffill end-to-end test workspace)."""
import math


def area_of_circle(radius: float) -> float:
    """Return the area of a circle."""
    return math.pi * radius ** 2


def circumference(radius: float) -> float:
    """Return the circumference of a circle."""



def main() -> None:
    for r in (1.0, 2.0, 3.0):
        print(r, area_of_circle(r), circumference(r))


if __name__ == "__main__":
    main()
`;
const PY_AT = { line: 12, col: 1 }; // the empty line in circumference()
const PY_TYPE = '    return 2 * math.';

const TS_FILE = 'strings.ts';
const TS_TEXT = `// Small string utilities (Diffill end-to-end test workspace).
export function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export function reverse(text: string): string {

}

export function isPalindrome(text: string): boolean {
  const clean = text.toLowerCase().replace(/[^a-z0-9]/g, "");
  return clean === reverse(clean);
}
`;
const TS_AT = { line: 7, col: 1 };
const TS_TYPE = '  return text.';

const USER_SETTINGS = {
  // What the test is about.
  'editor.inlineSuggest.enabled': true,
  'diffill.latencyBudgetMs': LATENCY_BUDGET_MS,
  // Nothing else suggests or rewrites while we type: typed text lands exactly as typed.
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.acceptSuggestionOnEnter': 'off',
  'editor.wordBasedSuggestions': 'off',
  'editor.parameterHints.enabled': false,
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoClosingOvertype': 'never',
  'editor.autoSurround': 'never',
  'editor.autoIndent': 'none',
  'editor.formatOnType': false,
  'editor.formatOnSave': false,
  'editor.codeLens': false,
  'editor.lightbulb.enabled': 'off',
  'editor.hover.enabled': false,
  'editor.minimap.enabled': false,
  'editor.stickyScroll.enabled': false,
  'editor.inlayHints.enabled': 'off',
  'editor.fontSize': 15,
  'editor.cursorBlinking': 'solid', // steady frames for screenshots
  'editor.renderWhitespace': 'none',
  'files.autoSave': 'off',
  'files.insertFinalNewline': false,
  'files.trimTrailingWhitespace': false,
  // Other inline suggestions and AI features off (the built-in Copilot is not signed in anyway).
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'github.copilot.enable': { '*': false },
  'github.copilot.nextEditSuggestions.enabled': false,
  'editor.inlineSuggest.edits.allowCodeShifting': 'never',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  // A quiet workbench.
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'window.commandCenter': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'typescript.tsserver.maxTsServerMemory': 1024,
  'python.languageServer': 'None',
};

function findVsix() {
  if (process.env.DIFFILL_VSIX) {
    const p = path.resolve(process.env.DIFFILL_VSIX);
    if (!fs.existsSync(p)) throw new Error(`DIFFILL_VSIX=${p} does not exist`);
    return p;
  }
  const cands = fs.readdirSync(ROOT).filter((f) => f.endsWith('.vsix'))
    .map((f) => path.join(ROOT, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return cands[0] || null;
}

function buildStubVsix() {
  const dir = path.join(HERE, 'stub-extension');
  const files = {};
  for (const rel of ['[Content_Types].xml', 'extension.vsixmanifest', 'extension/package.json', 'extension/extension.js']) {
    files[rel] = fs.readFileSync(path.join(dir, rel));
  }
  const out = path.join(RUN, 'diffill-e2e-stub.vsix');
  fs.writeFileSync(out, makeZip(files));
  return out;
}

/** Reads extension/package.json out of a .vsix (for its id and contributed command titles). */
function vsixManifest(vsix) {
  const r = spawnSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 0) { try { return JSON.parse(r.stdout); } catch {} }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function csArgs(dirs) {
  return ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, '--config', dirs.config];
}

async function startCodeServer(dirs, workspace) {
  const port = await freePort();
  const logPath = path.join(ART, 'code-server.log');
  const out = fs.openSync(logPath, 'w');
  server = spawn(NODE24, [CS_ENTRY, ...csArgs(dirs),
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened', '--log', 'info',
    workspace], {
    cwd: RUN, detached: true, stdio: ['ignore', out, out],
    env: { ...process.env, PATH: `${path.dirname(fs.realpathSync(NODE24))}:${process.env.PATH}`, XDG_CONFIG_HOME: dirs.xdg, XDG_DATA_HOME: dirs.xdg, HOME: dirs.home },
  });
  fs.closeSync(out);
  log(`code-server pid ${server.pid} on 127.0.0.1:${port} (log ${path.relative(ROOT, logPath)})`);
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}; see ${logPath}`);
    try { const r = await fetch(url, { redirect: 'manual' }); if (r.status < 500) break; } catch {}
    if (i > 600) throw new Error('code-server did not answer within 60 s');
    await sleep(100);
  }
  log(`code-server answers after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return url;
}

// ---------------------------------------------------------------------------------------------
// The workbench, through the browser

const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

async function shot(name, opts = {}) {
  if (!page) return null;
  const file = path.join(ART, `${name}.png`);
  const buf = await page.screenshot({ path: file, ...opts });
  return buf;
}
async function mediaShot(name, opts) {
  const buf = await shot(name, opts);
  if (MEDIA_OUT && buf) fs.writeFileSync(path.join(MEDIA, `${name}.png`), buf);
  return buf;
}

async function waitFor(pred, { timeout = 10_000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

async function dismissNotifications() {
  // Close toasts so they don't cover the editor in screenshots.
  await page.evaluate(() => {
    for (const b of document.querySelectorAll('.notification-toast .codicon-notifications-clear, .notification-toast .codicon-close')) b.click();
  }).catch(() => {});
}

async function quickInput(text) {
  const box = page.locator('.quick-input-widget .quick-input-box input');
  await box.waitFor({ state: 'visible', timeout: 10_000 });
  await box.fill(text);
}

async function openFile(name) {
  await page.keyboard.press(`${mod}+KeyP`);
  await quickInput(name);
  // Enter opens the focused row; the list filters asynchronously, so wait until that row is ours.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab.active[aria-label*="${name}"]`).waitFor({ timeout: 15_000 });
  await waitFor(() => page.evaluate(() => !!document.querySelector('.editor-group-container.active .monaco-editor.focused')),
    { what: `editor focus on ${name}` });
}

async function gotoLine(line, col) {
  await page.keyboard.press(`${mod}+KeyG`);
  await quickInput(`:${line}:${col}`); // the Go to Line picker is quick open with a ':' prefix
  await sleep(150);
  await page.keyboard.press('Enter');
  await waitFor(() => page.evaluate(() => !!document.querySelector('.editor-group-container.active .monaco-editor.focused')),
    { what: 'editor focus after go to line' });
}

/** Cursor line/column as the status bar reports them ("Ln 12, Col 5"). */
async function cursorPos() {
  const t = await page.locator('#status\\.editor\\.selection').first().textContent({ timeout: 2000 }).catch(() => '');
  const m = /Ln (\d+), Col (\d+)/.exec(t || '');
  return m ? { line: +m[1], col: +m[2] } : null;
}

/**
 * What the focused editor shows now: the ghost text (the same-line part, injected "after"
 * decorations with class ghost-text-decoration, plus any further lines from the ghost-text view
 * zone), whether it sits on the cursor's line, and that line as rendered (number and text, ghost
 * text left out). The stale check compares rendered states, not the keys sent, so a frame that has
 * not caught up with the last key is never mistaken for a stale suggestion.
 */
async function ghost() {
  return page.evaluate(() => {
    const ed = document.querySelector('.editor-group-container.active .monaco-editor.focused')
      || document.querySelector('.editor-group-container.active .monaco-editor');
    const none = { text: '', inline: '', lines: [], onCursorLine: true, lineNo: 0, lineText: '' };
    if (!ed) return none;
    const clean = (s) => (s || '').replace(/\u00a0/g, ' ');
    const isGhost = (e) => e.classList.contains('ghost-text-decoration') || e.classList.contains('ghost-text-decoration-preview');
    const spans = [...ed.querySelectorAll('.view-lines .ghost-text-decoration, .view-lines .ghost-text-decoration-preview')];
    const inline = spans.map((e) => clean(e.textContent)).join('');
    const lines = [...ed.querySelectorAll('.ghost-text .view-line')].map((e) => clean(e.textContent).replace(/\s+$/, ''));
    const text = inline + (lines.length ? '\n' + lines.join('\n') : '');
    const cursor = ed.querySelector('.cursors-layer .cursor');
    if (!cursor) return { ...none, text, inline, lines };
    const c = cursor.getBoundingClientRect();
    const mid = (r) => (r.top + r.bottom) / 2;
    const sameRow = (r) => Math.abs(mid(r) - mid(c)) < c.height / 2;
    let onCursorLine = true;
    if (spans.length) onCursorLine = sameRow(spans[0].getBoundingClientRect());
    const row = [...ed.querySelectorAll('.view-lines > .view-line')].find((e) => sameRow(e.getBoundingClientRect()));
    const lineText = row ? [...row.querySelectorAll('span > span')].filter((e) => !isGhost(e)).map((e) => clean(e.textContent)).join('') : '';
    const num = [...ed.querySelectorAll('.margin-view-overlays .line-numbers')].find((e) => sameRow(e.getBoundingClientRect()));
    return { text, inline, lines, onCursorLine, lineNo: num ? Number(num.textContent.trim()) : 0, lineText };
  });
}

/** Saves the active editor and returns the file's text from disk. */
async function saveAndRead(file) {
  await page.keyboard.press(`${mod}+KeyS`);
  await waitFor(() => page.evaluate(() => {
    const tab = document.querySelector('.tabs-container .tab.active');
    return tab && !tab.classList.contains('dirty');
  }), { what: 'the save to finish', timeout: 10_000 });
  return fs.readFileSync(file, 'utf8');
}

/** Offset in text of 1-based line/column (columns count UTF-16 units; no tabs in our files). */
function offsetOf(text, line, col) {
  const lines = text.split('\n');
  let off = 0;
  for (let i = 0; i < line - 1; i++) off += lines[i].length + 1;
  return off + col - 1;
}

const norm = (s) => s.replace(/\s+/g, ' ').trim();

/** Text inserted into `before` to give `after` (the part between their common prefix and suffix). */
function inserted(before, after) {
  let i = 0;
  while (i < before.length && i < after.length && before[i] === after[i]) i++;
  let j = 0;
  while (j < before.length - i && j < after.length - i && before[before.length - 1 - j] === after[after.length - 1 - j]) j++;
  return { at: i, removed: before.slice(i, before.length - j), added: after.slice(i, after.length - j) };
}

/**
 * The extension's fresh model answers, from its output channel's log file ("... inlineCompletion
 * model: N chars in M ms"): [{ t (ms since epoch), chars }], or null where there is no such log.
 */
function modelAnswers() {
  const root = path.join(RUN, 'user-data', 'logs');
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/diffill/i.test(p) && p.endsWith('.log')) files.push(p);
    }
  };
  try { walk(root); } catch { return null; }
  if (!files.length) return null;
  const out = [];
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) \[\w+\] inlineCompletion model: (\d+) chars/gm)) {
      out.push({ t: new Date(`${m[1]}T${m[2]}`).getTime(), chars: Number(m[3]) });
    }
  }
  return out;
}

/** Editor-area clip for README pictures: the top of the active editor, a fixed size. */
async function editorClip(height = 330, width = 820) {
  const box = await page.locator('.editor-group-container.active .monaco-editor').first().boundingBox();
  return { x: Math.max(0, box.x - 4), y: Math.max(0, box.y - 4), width: Math.min(width, box.width + 4), height: Math.min(height, box.height + 4) };
}

/** Types `text` one key at a time; after each key, calls onKey(typedSoFar). */
async function typeSlowly(text, { delay = 40, onKey, pauseAfter = null, pauseMs = 0 } = {}) {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') await page.keyboard.press('Enter');
    else await page.keyboard.type(ch);
    if (pauseAfter && pauseAfter.test(ch)) {
      // A person pauses between words: long enough for a suggestion to arrive and show. Sample
      // during the pause too, so a late (stale) answer is seen.
      const end = Date.now() + pauseMs;
      do { if (onKey) await onKey(text.slice(0, i + 1)); await sleep(100); } while (Date.now() < end);
    } else if (onKey) await onKey(text.slice(0, i + 1));
    if (delay) await sleep(delay);
  }
}

/**
 * Waits for non-empty ghost text. If none shows for 5 s, asks as a user would, with "Trigger Inline
 * Suggestion" from the command palette (its Alt+\\ keybinding does not reach code-server from
 * headless Chromium), again every 10 s. Gives up early, with the item's text, when the Diffill
 * status-bar item reports an error.
 */
async function waitGhost(timeout) {
  const end = Date.now() + timeout;
  let nudged = Date.now();
  let checked = 0;
  let nudges = 0;
  for (;;) {
    const g = await ghost();
    if (g.text.trim()) return { ...g, nudges };
    if (Date.now() - checked > 2000) {
      checked = Date.now();
      const s = await statusBarDiffill();
      if (s && /\berror\b/i.test(`${s.text} ${s.aria}`)) throw new Error(`no ghost text: Diffill reports ${JSON.stringify(s.aria || s.text)}`);
    }
    if (Date.now() > end) return null;
    if (Date.now() - nudged > (nudges ? 10_000 : 5000)) {
      nudges++;
      log(`no ghost text yet: "Trigger Inline Suggestion" from the palette (${nudges})`);
      await page.keyboard.press('F1');
      await quickInput('>Trigger Inline Suggestion');
      await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'Trigger Inline Suggestion' }).first().waitFor({ timeout: 5000 });
      await page.keyboard.press('Enter');
      await waitFor(() => page.evaluate(() => !!document.querySelector('.editor-group-container.active .monaco-editor.focused')), { what: 'editor focus' });
      nudged = Date.now();
    }
    await sleep(100);
  }
}

async function statusBarDiffill() {
  return page.evaluate(() => {
    const items = [...document.querySelectorAll('#workbench\\.parts\\.statusbar .statusbar-item')];
    const it = items.find((e) => /diffill/i.test(`${e.textContent} ${e.getAttribute('aria-label') || ''} ${e.id}`));
    if (!it) return null;
    return { text: it.textContent.trim(), aria: it.getAttribute('aria-label') || '', id: it.id };
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** (1) and (2): type, ghost text appears, Tab accepts it, typing more never shows a stale one. */
async function completionScenario({ lang, file, at, prefix, more, mediaName, frames }) {
  const abs = path.join(RUN, 'workspace', file);
  const initial = fs.readFileSync(abs, 'utf8');
  await openFile(file);
  await gotoLine(at.line, at.col);
  const clip = await editorClip();
  const frame = async (delayMs) => { if (frames) frames.push({ png: await page.screenshot({ clip }), delayMs }); };
  await frame(600);

  // Type the prefix as a person would; ghost text may come and go while typing.
  await typeSlowly(prefix, { delay: frames ? 60 : 30, onKey: frames ? () => frame(90) : null });
  const started = Date.now();
  const g = await waitGhost(results.some((r) => r.name.includes('ghost') && r.status === 'passed') ? GHOST_MS : FIRST_GHOST_MS);
  if (!g) {
    const s = await statusBarDiffill();
    throw new Error(`no ghost text appeared within the wait after typing ${JSON.stringify(prefix)} in ${file} (Diffill status: ${JSON.stringify(s && (s.aria || s.text))})`);
  }
  log(`${lang}: ghost text after ${Date.now() - started} ms${g.nudges ? ` and ${g.nudges} explicit trigger(s)` : ''}: ${JSON.stringify(g.text)}`);
  assert(g.onCursorLine, 'ghost text is not on the cursor line');
  if (frames) {
    // The last typed frame stays up for as long as the suggestion took; then the ghost text, held.
    frames[frames.length - 1].delayMs = Math.min(1500, Math.max(90, Date.now() - started));
    await frame(1800);
  }
  await sleep(300);
  const g2 = await ghost(); // what we accept is what is on screen now
  const shown = g2.text.trim() ? g2 : g;
  await mediaShot(mediaName, { clip: await editorClip(420, 1000) });

  await page.keyboard.press('Tab');
  await sleep(300);
  if (frames) { await frame(2400); } // accepted: the ghost text is now text
  const after = await saveAndRead(abs);
  const off = offsetOf(initial, at.line, at.col);
  const head = initial.slice(0, off) + prefix, tail = initial.slice(off);
  assert(after.startsWith(head) && after.endsWith(tail) && after.length >= head.length + tail.length,
    `accepting changed text around the cursor: ${JSON.stringify(inserted(initial, after))}`);
  const accepted = after.slice(head.length, after.length - tail.length);
  assert(norm(accepted) === norm(shown.text),
    `Tab inserted ${JSON.stringify(accepted)} but the ghost text was ${JSON.stringify(shown.text)}`);
  log(`${lang}: accepted ${JSON.stringify(accepted)}`);

  // Type more, sampling the ghost text after every key: a suggestion made for an earlier state of
  // the line must never be shown unchanged once the typed characters contradict it.
  const history = [];
  // Two signatures of a suggestion made for an earlier state of the line, where the line has since
  // grown by characters `since` that contradict it: it shows again unchanged (a cache or a late
  // answer served as if fresh), or advanced by as many characters as were typed (typed-ahead reuse
  // that did not check what was typed). A model may well propose the same text again after a
  // typed space (indentation), so the first signature needs a non-space character in `since`.
  //
  // The same text can also come back honestly: a weak model proposes it again for the new state,
  // or a fresh answer made after some of the `since` characters were typed gets typed ahead into
  // it. So a suspect is cleared when the extension's own log shows a fresh model answer between its
  // first showing and now whose length is the suspect's plus at most `since.length` (the characters
  // typed ahead after it). Cache and typed-ahead answers don't clear it. (Without that log -- the
  // stub -- every suspect counts.)
  const offered = new Map(); // ghost text -> { lineNo, lineText, t } where it first showed
  const suspects = new Map(); // ghost text -> { t0, t1, msg }, the first suspicion per text
  const check = (s, when) => {
    const { text, lineNo, lineText } = s;
    if (text.replace(/\s/g, '').length < 4 || !lineNo) return;
    for (const [old, p] of offered) {
      if (p.lineNo !== lineNo || !lineText.startsWith(p.lineText)) continue;
      const since = lineText.slice(p.lineText.length);
      if (!since || old.startsWith(since) || suspects.has(text)) continue;
      if (text === old && /\S/.test(since)) {
        suspects.set(text, { t0: p.t, t1: s.t, since: since.length, msg: `${JSON.stringify(old)} showed after ${JSON.stringify(p.lineText)} and still shows ${when} ${JSON.stringify(lineText)} (line ${lineNo})` });
      } else if (text === old.slice(since.length)) {
        suspects.set(text, { t0: p.t, t1: s.t, since: since.length, msg: `${JSON.stringify(old)} showed after ${JSON.stringify(p.lineText)}; ${when} ${JSON.stringify(lineText)} (line ${lineNo}) it shows advanced by ${since.length} characters that do not match it` });
      }
    }
    const p = offered.get(text);
    if (!p || p.lineNo !== lineNo || !lineText.startsWith(p.lineText)) offered.set(text, { lineNo, lineText, t: s.t });
  };
  const offCursor = [];
  const base = after;
  await page.keyboard.press('End');
  const endPos = await cursorPos();
  assert(endPos, 'no cursor position in the status bar');
  const baseOff = offsetOf(base, endPos.line, endPos.col);
  await typeSlowly(more, {
    delay: 25, pauseAfter: /[ (.*]/, pauseMs: Math.min(1500, LATENCY_BUDGET_MS / 2 + 200),
    onKey: async (typed) => {
      const s = { ...(await ghost()), t: Date.now() };
      if (!s.onCursorLine) offCursor.push(`ghost text ${JSON.stringify(s.text)} off the cursor line after typing ${JSON.stringify(typed)}`);
      check(s, 'with the line now');
      history.push({ typed, ...s });
    },
  });
  // Let any in-flight request finish, then look again: whatever shows must fit what is typed.
  await sleep(LATENCY_BUDGET_MS + 500);
  check({ ...(await ghost()), t: Date.now() }, 'at rest with the line');
  await page.keyboard.press('Escape');
  const final = await saveAndRead(abs);
  const want = base.slice(0, baseOff) + more + base.slice(baseOff);
  assert(final === want,
    `typing ${JSON.stringify(more)} gave ${JSON.stringify(inserted(base, final))}: something was accepted or rewritten unasked`);
  assert(offCursor.length === 0, offCursor.slice(0, 3).join('; '));
  await sleep(500); // let the extension host write its log
  const answers = modelAnswers();
  const stale = [];
  for (const [text, sp] of suspects) {
    const fresh = answers && answers.find((a) => a.t > sp.t0 && a.t <= sp.t1 + 50 && a.chars >= text.length && a.chars - text.length <= sp.since);
    if (fresh) log(`${lang}: not stale, a fresh model answer (${fresh.chars} chars at ${new Date(fresh.t).toISOString()}) explains it: ${sp.msg}`);
    else stale.push(sp.msg);
  }
  assert(stale.length === 0, `stale suggestion (${stale.length}): ${stale.slice(0, 3).join('; ')}${answers ? ' -- and no fresh model answer in the Diffill log explains it' : ''}`);
  const shownWhileTyping = [...new Set(history.filter((h) => h.text).map((h) => h.text))];
  log(`${lang}: typed ${more.length} more keys; ${history.length} samples, ${history.filter((h) => h.text).length} with ghost text (${shownWhileTyping.length} distinct: ${JSON.stringify(shownWhileTyping.slice(0, 6))}), none stale`);
}

async function paletteHas(title) {
  await page.keyboard.press('F1');
  await quickInput(`>${title}`);
  await sleep(600);
  const rows = await page.locator('.quick-input-list .monaco-list-row').allTextContents();
  const hit = rows.some((r) => r.includes(title));
  if (!hit) await page.keyboard.press('Escape');
  return hit;
}
async function runCommand(title) {
  if (!(await paletteHas(title))) return false;
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).first().waitFor({ timeout: 5000 });
  await page.keyboard.press('Enter');
  return true;
}

/** Selects from (line, col) to (line2, col2) with Go to Line then Shift+arrows. */
async function select(line, col, line2, col2) {
  await gotoLine(line, col);
  await waitFor(async () => { const p = await cursorPos(); return p && p.line === line && p.col === col; }, { what: `the cursor at ${line}:${col}` });
  for (let l = line; l < line2; l++) await page.keyboard.press('Shift+ArrowDown');
  if (line2 === line) for (let c = col; c < col2; c++) await page.keyboard.press('Shift+ArrowRight');
  else assert(col === 1 && col2 === 1, 'select() spans lines only from column 1 to column 1');
  await waitFor(async () => { const p = await cursorPos(); return p && p.line === line2 && p.col === col2; }, { what: `the selection to end at ${line2}:${col2}` });
}

/** Texts of the notification toasts on screen. */
async function toasts() {
  return page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allTextContents().catch(() => []);
}
/** A toast from Diffill that means the command gave up (no candidate, document changed, an error). */
async function diffillComplaint() {
  return (await toasts()).find((t) => /Diffill/.test(t) && /no candidate|changed|refused|error|failed|cannot|can't|too (big|large|long)|binary|empty/i.test(t));
}

/** Offset and text of the first occurrence of `needle` on 1-based `line` of `text`. */
function spanOn(text, line, needle) {
  const l = text.split('\n')[line - 1] ?? '';
  const col = l.indexOf(needle);
  assert(col >= 0, `line ${line} lacks ${JSON.stringify(needle)}: ${JSON.stringify(l)}`);
  return { col: col + 1, start: offsetOf(text, line, col + 1), end: offsetOf(text, line, col + 1) + needle.length };
}

// (3) The selection commands, on a file of their own with a planted bug for the refactor to find.
const CMD_FILE = 'stats.py';
const CMD_TEXT = `"""Statistics helpers (Diffill end-to-end test workspace)."""


def mean(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / len(vals)


def spread(values: list[float]) -> float:
    return max(values) - min(values)
`;

async function infillScenario() {
  const abs = path.join(RUN, 'workspace', CMD_FILE);
  await openFile(CMD_FILE);
  await page.keyboard.press('Escape');
  const before = await saveAndRead(abs);
  const span = spanOn(before, 12, 'max(values) - min(values)');
  await select(12, span.col, 12, span.col + 'max(values) - min(values)'.length);
  if (!(await runCommand('Diffill: Infill Selection'))) throw new Skip('"Diffill: Infill Selection" is not in the command palette');
  // Candidates come in a quick pick titled "Diffill: N candidates (M ms)", the active one previewed
  // in a diff beside the document.
  const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /candidate/ });
  await waitFor(async () => {
    const c = await diffillComplaint();
    if (c) throw new Error(`Infill Selection gave up: ${c}`);
    return title.isVisible().catch(() => false);
  }, { timeout: GHOST_MS * 2, interval: 200, what: 'the infill candidates (a quick pick)' });
  const titleText = (await title.textContent()).trim();
  await page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {});
  await sleep(800);
  const rows = await page.locator('.quick-input-list .monaco-list-row').allTextContents();
  const label = (await page.locator('.quick-input-list .monaco-list-row.focused .label-name').first().textContent().catch(() => '')) || rows[0] || '';
  log(`infill: ${titleText}; ${rows.length} rows; first: ${JSON.stringify(label)}`);
  await mediaShot('infill-selection');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  await sleep(500);
  await openFile(CMD_FILE);
  const after = await saveAndRead(abs);
  const head = before.slice(0, span.start), tail = before.slice(span.end);
  assert(after.startsWith(head), `infill changed text before the selection: ${JSON.stringify(inserted(before, after))}`);
  assert(after.endsWith(tail), `infill changed text after the selection: ${JSON.stringify(inserted(before, after))}`);
  const cand = after.slice(head.length, after.length - tail.length);
  const shown = norm(label.replace(/ ⏎ /g, ' ').replace(/…$/, ''));
  assert(norm(cand).startsWith(shown) || shown === '(empty)' && cand === '',
    `the selection became ${JSON.stringify(cand)}, not the chosen candidate ${JSON.stringify(label)}`);
  log(`infill: ${JSON.stringify(before.slice(span.start, span.end))} -> ${JSON.stringify(cand)}`);
  // One edit, one undo step.
  await page.keyboard.press(`${mod}+KeyZ`);
  const undone = await saveAndRead(abs);
  assert(undone === before, `one undo did not restore the file: ${JSON.stringify(inserted(before, undone))}`);
}

async function refactorScenario() {
  const abs = path.join(RUN, 'workspace', CMD_FILE);
  await openFile(CMD_FILE);
  await page.keyboard.press('Escape');
  const before = await saveAndRead(abs);
  await select(4, 1, 9, 1); // all of mean(), with its planted bug (len(vals))
  if (!(await runCommand('Diffill: Refactor Selection'))) throw new Skip('"Diffill: Refactor Selection" is not in the command palette');
  // The proposal opens as a diff, with Accept / Reject in a notification and the diff's title bar.
  const outcome = await waitFor(async () => {
    const c = await diffillComplaint();
    if (c) throw new Error(`Refactor Selection gave up: ${c}`);
    const ts = await toasts();
    const keeps = ts.find((t) => /keeps the selection/i.test(t));
    if (keeps) return { keeps };
    const proposes = ts.find((t) => /proposes/i.test(t));
    const diff = await page.locator('.monaco-diff-editor').first().isVisible().catch(() => false);
    return proposes && diff ? { proposes } : null;
  }, { timeout: GHOST_MS * 2, interval: 200, what: 'the refactor proposal (a diff and a notification)' });
  if (outcome.keeps) {
    await mediaShot('refactor-confidence');
    throw new Error(`no diff to look at: ${outcome.keeps}`);
  }
  await sleep(1000);
  log(`refactor: ${outcome.proposes}; tab: ${await page.locator('.tabs-container .tab.active').first().getAttribute('aria-label')}`);
  await mediaShot('refactor-diff');
  const button = page.locator('.notifications-toasts .notification-toast .monaco-button', { hasText: 'Reject' }).first();
  if (await button.isVisible().catch(() => false)) await button.click();
  else {
    const action = page.locator('.editor-actions [aria-label*="Reject"]').first();
    if (await action.isVisible().catch(() => false)) await action.click();
    else assert(await runCommand('Diffill: Reject Refactor'), 'no Reject: not in the notification, the title bar or the palette');
  }
  await page.locator('.monaco-diff-editor').first().waitFor({ state: 'hidden', timeout: 10_000 })
    .catch(() => { throw new Error('the diff stayed open after Reject'); });
  await openFile(CMD_FILE);
  const dirty = await page.evaluate(() => document.querySelector('.tabs-container .tab.active')?.classList.contains('dirty'));
  const after = await saveAndRead(abs);
  assert(!dirty && after === before, `rejecting the refactor changed the document: ${JSON.stringify(inserted(before, after))}`);
}

async function statusBarScenario() {
  const s = await waitFor(statusBarDiffill, { timeout: 20_000, what: 'a Diffill status-bar item' });
  log(`status bar: ${JSON.stringify(s)}`);
  const all = `${s.text} ${s.aria}`;
  const latency = /\d+(\.\d+)?\s*ms\b/.exec(all);
  const state = /\b(ready|loading|idle|busy|error|off|disabled|running|model|onnx|\d+[mk]?\s*params?)\b/i.exec(all);
  // The right end of the status bar with the item's tooltip (state, model, last latency) open.
  const vp = page.viewportSize();
  const item = page.locator(`[id="${s.id}"]`).first();
  await item.hover().catch(() => {});
  const hover = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: /Diffill/ }).first();
  const tip = await hover.waitFor({ state: 'visible', timeout: 5000 }).then(() => hover.textContent()).catch(() => '');
  if (tip) log(`status bar tooltip: ${JSON.stringify(tip)}`);
  const box = tip ? await hover.boundingBox() : null;
  const top = Math.max(0, Math.min(vp.height - 90, box ? box.y - 12 : vp.height - 90));
  await mediaShot('status-bar', { clip: { x: vp.width - 640, y: top, width: 640, height: vp.height - top } });
  await page.mouse.move(24, 600);
  assert(!/\berror\b/i.test(all), `the Diffill status-bar item reports an error: ${JSON.stringify(all)}`);
  assert(latency, `the Diffill status-bar item shows no latency figure: ${JSON.stringify(all)}`);
  assert(state, `the Diffill status-bar item shows no model state: ${JSON.stringify(all)}`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const p of [NODE24, CS_ENTRY, CHROMIUM]) {
    if (!fs.existsSync(p)) throw new Error(`${p} is missing: run bash test/e2e/setup.sh first`);
  }
  fs.rmSync(RUN, { recursive: true, force: true });
  fs.mkdirSync(ART, { recursive: true });
  for (const f of fs.readdirSync(ART)) fs.rmSync(path.join(ART, f), { recursive: true, force: true });
  if (MEDIA_OUT) fs.mkdirSync(MEDIA, { recursive: true });
  const dirs = {
    userData: path.join(RUN, 'user-data'), extensions: path.join(RUN, 'extensions'),
    config: path.join(RUN, 'config.yaml'), xdg: path.join(RUN, 'xdg'), home: path.join(RUN, 'home'),
  };
  const workspace = path.join(RUN, 'workspace');
  for (const d of [dirs.userData, dirs.extensions, dirs.xdg, dirs.home, workspace, path.join(dirs.userData, 'User')]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(dirs.config, 'auth: none\ncert: false\n');
  fs.writeFileSync(path.join(workspace, PY_FILE), PY_TEXT);
  fs.writeFileSync(path.join(workspace, TS_FILE), TS_TEXT);
  fs.writeFileSync(path.join(workspace, CMD_FILE), CMD_TEXT);
  const settings = { ...USER_SETTINGS, ...(MODEL_PATH ? { 'diffill.modelPath': MODEL_PATH } : {}) };
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

  // The extension.
  const vsix = SELF_TEST ? buildStubVsix() : findVsix();
  if (!vsix) throw new Error('no .vsix: set DIFFILL_VSIX or run `npm run package` at the repo root (or use --self-test)');
  const manifest = vsixManifest(vsix);
  const extId = manifest ? `${manifest.publisher}.${manifest.name}` : null;
  log(`extension: ${path.relative(ROOT, vsix)} (${extId || 'unknown id'}, ${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB)`);
  const inst = spawnSync(NODE24, [CS_ENTRY, ...csArgs(dirs), '--install-extension', vsix, '--force'], {
    cwd: RUN, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CONFIG_HOME: dirs.xdg, XDG_DATA_HOME: dirs.xdg, HOME: dirs.home },
  });
  fs.writeFileSync(path.join(ART, 'install-extension.log'), `${inst.stdout}\n${inst.stderr}`);
  if (inst.status !== 0 || !/successfully installed/i.test(inst.stdout + inst.stderr)) {
    throw new Error(`code-server --install-extension failed (${inst.status}): ${(inst.stdout + inst.stderr).trim().slice(-800)}`);
  }
  log('extension installed');

  const url = await startCodeServer(dirs, workspace);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, slowMo: HEADFUL_SLOWMO,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  await page.mouse.move(24, 600); // parked over the empty activity bar: no hovers in screenshots
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${url}?folder=${encodeURIComponent(workspace)}`);

  await test('workbench loads with the workspace and the extension', async () => {
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('#workbench\\.parts\\.statusbar').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: PY_FILE }).first().waitFor({ timeout: 60_000 });
    await sleep(1500);
    await dismissNotifications();
    log(`workbench up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await shot('workbench');
    // The explorer has done its part (the workspace is open); without it the editors, and the
    // pictures of them, get the width.
    await page.keyboard.press(`${mod}+KeyB`);
    await page.locator('#workbench\\.parts\\.sidebar').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => log('the side bar stayed open'));
    if (extId) {
      const list = spawnSync(NODE24, [CS_ENTRY, ...csArgs(dirs), '--list-extensions'], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: dirs.xdg, HOME: dirs.home } });
      assert(list.stdout.toLowerCase().includes(extId.toLowerCase()), `${extId} not in --list-extensions: ${list.stdout}`);
    }
  });
  if (results.at(-1).status !== 'passed') return;

  await test('Diffill starts: opening a Python file activates it, its status-bar item leaves the loading state', async () => {
    // A user sees the loading notification and waits for it; typing before the model is ready is
    // covered by the server's own tests, and would make this run's timings depend on the machine.
    const opened = Date.now();
    await openFile(PY_FILE);
    const s = await waitFor(async () => {
      const it = await statusBarDiffill();
      return it && !/loading|starting/i.test(`${it.text} ${it.aria}`) ? it : null;
    }, { timeout: FIRST_GHOST_MS, interval: 250, what: 'the Diffill status-bar item to leave the loading state' });
    log(`Diffill status ${((Date.now() - opened) / 1000).toFixed(1)} s after opening ${PY_FILE}: ${JSON.stringify(s)}`);
    assert(!/\berror\b/i.test(`${s.text} ${s.aria}`), `Diffill reports an error: ${JSON.stringify(s.aria || s.text)}`);
  });

  await test('editor takes keystrokes and saves (harness check)', async () => {
    await openFile(TS_FILE);
    await gotoLine(1, 1);
    // Escape before Enter: a suggestion widget or ghost text that popped up while typing must not
    // take the Enter (CI once lost the newline here)
    await page.keyboard.type('// e2e');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    const text = await saveAndRead(path.join(workspace, TS_FILE));
    assert(text === `// e2e\n${TS_TEXT}`, `unexpected file text after typing: ${JSON.stringify(text.slice(0, 80))}`);
    let back = text;
    for (let i = 0; i < 4 && back !== TS_TEXT; i++) {
      await page.keyboard.press(`${mod}+KeyZ`);
      back = await saveAndRead(path.join(workspace, TS_FILE));
    }
    assert(back === TS_TEXT, 'undo did not restore the file');
  });

  const frames = MEDIA_OUT ? [] : null;
  await test('python: ghost text appears, Tab accepts it, no stale suggestion while typing on', () =>
    completionScenario({
      lang: 'python', file: PY_FILE, at: PY_AT, prefix: PY_TYPE, mediaName: 'ghost-text-python', frames,
      more: '\n\n\ndef diameter(radius: float) -> float:\n    return 2 * radius\n',
    }));
  if (frames && frames.length > 1) {
    const apng = encodeApng(frames);
    fs.writeFileSync(path.join(ART, 'ghost-text-animated.png'), apng);
    fs.writeFileSync(path.join(MEDIA, 'ghost-text-animated.png'), apng); // APNG: animates where PNGs show
    log(`animation: ${frames.length} frames, ${(apng.length / 1024).toFixed(0)} KiB`);
  }
  await test('typescript: ghost text appears, Tab accepts it, no stale suggestion while typing on', () =>
    completionScenario({
      lang: 'typescript', file: TS_FILE, at: TS_AT, prefix: TS_TYPE, mediaName: 'ghost-text-typescript',
      more: '\n\nexport function shout(text: string): string {\n  return text.toUpperCase() + "!";\n}\n',
    }));
  await test('infill selection: a candidate replaces the selected span, the rest is untouched', infillScenario);
  await test('refactor selection: the diff shows, reject leaves the document unchanged', refactorScenario);
  await test('status bar shows the model state and a latency', statusBarScenario);

  if (consoleErrors.length) {
    fs.writeFileSync(path.join(ART, 'browser-console-errors.txt'), consoleErrors.join('\n'));
  }
}

let finished = false;
async function finish() {
  if (finished) return new Promise(() => {}); // the other path is already finishing
  finished = true;
  await Promise.race([stopAll(), sleep(20_000)]);
  clearTimeout(hard);
  try { // VS Code's logs, the extension's output channel among them (exthost*/diffill.diffill/).
    fs.cpSync(path.join(RUN, 'user-data', 'logs'), path.join(ART, 'logs'), { recursive: true });
  } catch {}
  log(`artifacts in ${path.relative(process.cwd(), ART) || ART}`);
  process.exit(summary() ? 0 : 1);
}

const hard = setTimeout(() => {
  timedOut = true;
  log(`HARD TIMEOUT after ${HARD_TIMEOUT_MS / 1000} s`);
  results.push({ name: 'whole run finishes within the time limit', status: 'failed', detail: `stopped after ${HARD_TIMEOUT_MS / 1000} s` });
  finish();
}, HARD_TIMEOUT_MS);

try {
  await main();
} catch (e) {
  if (!timedOut) {
    results.push({ name: 'setup of the end-to-end run', status: 'failed', detail: e?.stack || String(e) });
    log(`ERROR ${e?.stack || e}`);
    await shot('failure-setup').catch(() => {});
  }
} finally {
  await finish();
}

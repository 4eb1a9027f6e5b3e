// Harness self-test stand-in for Diffill: completes a few known prefixes after a short delay and
// shows a status-bar item with a state and a latency, like the real extension is expected to.
const vscode = require('vscode');

const CANNED = [
  [/return 2 \* math\.$/, 'pi * radius'],
  [/return 2 \*$/, 'radius + 1'], // typing ' ' next contradicts it: it must vanish
  [/return text\.$/, 'split("").reverse().join("");'],
  [/def diameter\($/, 'r: float) -> float:'],
];
// DIFFILL_E2E_STUB_STALE plants the bugs the stale-suggestion check exists to catch: =1 serves the
// last completion again for any later request on the same line; =advance serves its rest, advanced
// by as many characters as the cursor moved, whatever was typed (a careless typed-ahead cache).
const STALE = process.env.DIFFILL_E2E_STUB_STALE || '';
let last = null;

function activate(context) {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  item.text = '$(sparkle) Diffill: stub ready';
  item.tooltip = 'Diffill (e2e stub)';
  item.show();
  context.subscriptions.push(item);
  context.subscriptions.push(vscode.languages.registerInlineCompletionItemProvider(
    [{ language: 'python' }, { language: 'typescript' }],
    {
      async provideInlineCompletionItems(doc, pos, _ctx, token) {
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 150));
        if (token.isCancellationRequested) return [];
        const before = doc.lineAt(pos.line).text.slice(0, pos.character);
        const hit = CANNED.find(([re]) => re.test(before));
        item.text = `$(sparkle) Diffill: stub ready · ${Date.now() - t0} ms`;
        let text = hit ? hit[1] : null;
        if (STALE && !text && last && last.uri === doc.uri.toString() && last.line === pos.line) {
          const moved = pos.character - last.col;
          if (STALE === 'advance') return moved > 0 && moved < last.text.length ? [new vscode.InlineCompletionItem(last.text.slice(moved), new vscode.Range(pos, pos))] : [];
          text = last.text;
        }
        if (text) last = { uri: doc.uri.toString(), line: pos.line, col: pos.character, text };
        return text ? [new vscode.InlineCompletionItem(text, new vscode.Range(pos, pos))] : [];
      },
    },
  ));
}
module.exports = { activate, deactivate() {} };

// Harness self-test stand-in for Diffill: completes a few known prefixes after a short delay and
// shows a status-bar item with a state and a latency, like the real extension is expected to.
const vscode = require('vscode');

const CANNED = [
  [/return 2 \* math\.$/, 'pi * radius'],
  [/return text\.$/, 'split("").reverse().join("");'],
  [/def diameter\($/, 'r: float) -> float:'],
];
// DIFFILL_E2E_STUB_STALE=1 plants the bug the stale-suggestion check exists to catch: the last
// completion is served again for any later request in the same document.
const STALE = process.env.DIFFILL_E2E_STUB_STALE === '1';
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
        if (STALE && !text && last && last.uri === doc.uri.toString() && last.line === pos.line) text = last.text;
        if (text) last = { uri: doc.uri.toString(), line: pos.line, text };
        return text ? [new vscode.InlineCompletionItem(text, new vscode.Range(pos, pos))] : [];
      },
    },
  ));
}
module.exports = { activate, deactivate() {} };

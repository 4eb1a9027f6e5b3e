/**
 * The confidence view: tints the tokens of a selection that the model finds unlikely (its
 * probability for each token with both sides visible, from `diffill/refactor`), so the user sees
 * why Diffill proposes a change there. Cleared when the document is edited or the view toggled off.
 */
import * as vscode from 'vscode';

/** Tokens below these probabilities are tinted (strong, then light). */
export const LOW_P = 0.1;
export const DOUBTFUL_P = 0.3;

export interface TokenConfidence {
  range: vscode.Range;
  p: number;
}

/**
 * The server's per-token confidence as editor ranges; a token's leading whitespace is left out of
 * its tint (" if" tints "if") unless the token is all whitespace (a doubtful indentation).
 */
export function tokensOf(doc: vscode.TextDocument, spans: ReadonlyArray<{ range: vscode.Range; p: number }>): TokenConfidence[] {
  return spans.map(({ range, p }) => {
    const text = doc.getText(range);
    const lead = text.length - text.trimStart().length;
    if (lead === 0 || lead === text.length) return { range, p };
    return { range: new vscode.Range(doc.positionAt(doc.offsetAt(range.start) + lead), range.end), p };
  });
}

export class ConfidenceView implements vscode.Disposable {
  private readonly low = vscode.window.createTextEditorDecorationType({
    backgroundColor: 'rgba(255, 60, 60, 0.35)',
    overviewRulerColor: 'rgba(255, 60, 60, 0.8)',
    overviewRulerLane: vscode.OverviewRulerLane.Right,
    borderRadius: '2px',
  });
  private readonly doubtful = vscode.window.createTextEditorDecorationType({
    backgroundColor: 'rgba(255, 170, 50, 0.22)',
    borderRadius: '2px',
  });
  /** Per document URI: the tinted tokens. */
  private readonly shown = new Map<string, TokenConfidence[]>();
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.subscriptions = [
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.clear(e.document.uri);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.shown.delete(d.uri.toString())),
      // an editor that comes into view (a diff's side, a split) gets the tint of its document
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        for (const ed of editors) {
          const tokens = this.shown.get(ed.document.uri.toString());
          if (tokens) this.paint(ed, tokens);
        }
      }),
    ];
  }

  isShown(uri: vscode.Uri): boolean {
    return this.shown.has(uri.toString());
  }

  /** Tints the unlikely tokens in every visible editor of `uri`; returns how many were tinted. */
  show(uri: vscode.Uri, tokens: readonly TokenConfidence[]): number {
    const kept = tokens.filter((t) => t.p < DOUBTFUL_P && !t.range.isEmpty);
    this.shown.set(uri.toString(), kept);
    for (const ed of this.editorsOf(uri)) this.paint(ed, kept);
    return kept.length;
  }

  clear(uri: vscode.Uri): void {
    if (!this.shown.delete(uri.toString())) return;
    for (const ed of this.editorsOf(uri)) {
      ed.setDecorations(this.low, []);
      ed.setDecorations(this.doubtful, []);
    }
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.low.dispose();
    this.doubtful.dispose();
    this.shown.clear();
  }

  private editorsOf(uri: vscode.Uri): vscode.TextEditor[] {
    const key = uri.toString();
    return vscode.window.visibleTextEditors.filter((ed) => ed.document.uri.toString() === key);
  }

  private paint(ed: vscode.TextEditor, tokens: readonly TokenConfidence[]): void {
    const option = (t: TokenConfidence): vscode.DecorationOptions => ({
      range: t.range,
      hoverMessage: new vscode.MarkdownString(`Diffill: the model gives this token p = ${t.p.toFixed(3)}`),
    });
    ed.setDecorations(this.low, tokens.filter((t) => t.p < LOW_P).map(option));
    ed.setDecorations(this.doubtful, tokens.filter((t) => t.p >= LOW_P).map(option));
  }
}

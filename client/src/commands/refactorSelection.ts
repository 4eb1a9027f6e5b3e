/**
 * `diffill.refactorSelection` ("Diffill: Refactor Selection"): the server rewrites the tokens of
 * the selection that the model finds unlikely; the result opens as a diff between the document
 * and a virtual document (`diffill-refactor:`), with Accept / Reject in the diff's title bar and in a
 * notification. Accept applies one WorkspaceEdit (one undo step) if the document has not changed
 * since; the document is never touched before. The unlikely tokens of the original are tinted
 * (the confidence view) while the proposal is open.
 *
 * `diffill.acceptRefactor` / `diffill.rejectRefactor` take the proposal's URI (title bar) or act
 * on the proposal of the active diff, else the latest one.
 */
import * as vscode from 'vscode';
import { type RefactorParams, type RefactorResult, RefactorRequestMethod } from '../../../server/src/protocol';
import { tokensOf } from '../confidence';
import type { Ctx } from '../ctx';
import { REFACTOR_SCHEME, showDiff } from '../proposals';
import { activeTarget, asRange, paramsOf, selectionUi, sendSelectionRequest } from '../selection';

interface Proposal {
  uri: vscode.Uri;
  doc: vscode.TextDocument;
  version: number;
  edits: vscode.TextEdit[];
  /** Resolves the notification's buttons when the proposal is settled elsewhere. */
  settled: () => void;
}

const proposals = new Map<string, Proposal>();

export function refactorSelection(ctx: Ctx) {
  return async (): Promise<void> => {
    const t = activeTarget(true, 'refactor');
    if (!t) return;
    const res = await sendSelectionRequest<RefactorParams, RefactorResult>(ctx, RefactorRequestMethod, paramsOf(ctx, t));
    if (!res) return;
    if (t.doc.version !== t.version || res.version !== t.version) {
      void vscode.window.showWarningMessage('Diffill: the document changed while the model worked; run Refactor Selection again.');
      return;
    }
    const ui = selectionUi(ctx);
    const tinted = ui.confidence.show(t.doc.uri, tokensOf(t.doc, res.confidence.map((c) => ({ range: asRange(ctx, c.range), p: c.p }))));
    const cut = res.truncated ? ' (the time budget ran out: diffill.commandTimeoutFactor gives it more)' : '';
    if (!res.changed) {
      void vscode.window.showInformationMessage(
        `Diffill: the model keeps the selection as it is; ${tinted} token${tinted === 1 ? '' : 's'} it doubts ${tinted === 1 ? 'is' : 'are'} tinted${cut}.`,
      );
      return;
    }
    const edits = res.edits.map((e) => new vscode.TextEdit(asRange(ctx, e.range), e.newText));
    const uri = ui.proposals.create(REFACTOR_SCHEME, t.doc.uri, applyAll(t.doc, edits));
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    proposals.set(uri.toString(), { uri, doc: t.doc, version: t.version, edits, settled: settle });
    const name = t.doc.uri.path.split('/').pop() || t.doc.uri.toString();
    await showDiff(t.doc, uri, `${name} ↔ Diffill refactor (${res.edits.length} edit, ${Math.round(res.ms)} ms)`, {
      preview: true,
      viewColumn: vscode.ViewColumn.Active,
    });
    const pick = await Promise.race([
      vscode.window.showInformationMessage(`Diffill proposes a rewrite of the selection${cut}.`, 'Accept', 'Reject'),
      settled.then(() => undefined),
    ]);
    if (pick === 'Accept') await accept(ctx, uri);
    else if (pick === 'Reject') await reject(ctx, uri);
  };
}

export function acceptRefactor(ctx: Ctx) {
  return async (arg?: unknown): Promise<void> => {
    const uri = proposalUri(arg);
    if (!uri) return void vscode.window.showInformationMessage('Diffill: no refactor proposal is open.');
    await accept(ctx, uri);
  };
}

export function rejectRefactor(ctx: Ctx) {
  return async (arg?: unknown): Promise<void> => {
    const uri = proposalUri(arg);
    if (uri) await reject(ctx, uri);
  };
}

/** The proposal a command means: its argument (the title bar passes the URI), the active diff, the latest. */
function proposalUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri && proposals.has(arg.toString())) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === REFACTOR_SCHEME && proposals.has(active.toString())) return active;
  return [...proposals.values()].at(-1)?.uri;
}

async function accept(ctx: Ctx, uri: vscode.Uri): Promise<void> {
  const p = proposals.get(uri.toString());
  if (!p) return;
  await settle(ctx, p);
  if (p.doc.isClosed || p.doc.version !== p.version) {
    void vscode.window.showWarningMessage('Diffill: the document changed since the refactor was computed; nothing was applied. Run it again.');
    return;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.set(p.doc.uri, p.edits);
  if (!(await vscode.workspace.applyEdit(edit))) {
    void vscode.window.showWarningMessage('Diffill: VS Code refused the edit; nothing was applied.');
  }
}

async function reject(ctx: Ctx, uri: vscode.Uri): Promise<void> {
  const p = proposals.get(uri.toString());
  if (p) await settle(ctx, p);
}

/** Forgets the proposal, closes its diff and the tint. */
async function settle(ctx: Ctx, p: Proposal): Promise<void> {
  proposals.delete(p.uri.toString());
  p.settled();
  const ui = selectionUi(ctx);
  ui.confidence.clear(p.doc.uri);
  await ui.proposals.close(p.uri);
}

function applyAll(doc: vscode.TextDocument, edits: readonly vscode.TextEdit[]): string {
  // from the last edit backwards, so the earlier offsets stay valid
  const sorted = [...edits].sort((a, b) => doc.offsetAt(b.range.start) - doc.offsetAt(a.range.start));
  let text = doc.getText();
  for (const e of sorted) text = text.slice(0, doc.offsetAt(e.range.start)) + e.newText + text.slice(doc.offsetAt(e.range.end));
  return text;
}

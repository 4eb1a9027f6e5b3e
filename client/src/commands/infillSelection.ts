/**
 * `diffill.infillSelection` ("Diffill: Infill Selection"): the server regenerates the selection
 * (or fills at the cursor) from the text around it and answers candidates, best first. They are
 * offered in a quick pick; the active one is previewed as a diff against the document (a virtual
 * `diffill-infill:` document beside it). Enter replaces the selection with it in one undoable
 * edit, Escape leaves the document as it was.
 *
 * Why a quick pick and not ghost text: VS Code renders an inline suggestion only where the text it
 * replaces is a prefix of the suggestion, so a regenerated multi-line selection would mostly not
 * show at all; a quick pick with a diff shows every candidate, whatever it replaces.
 */
import * as vscode from 'vscode';
import { type InfillSpanParams, type InfillSpanResult, InfillSpanRequestMethod } from '../../../server/src/protocol';
import type { Ctx } from '../ctx';
import { INFILL_SCHEME, replaced, showDiff } from '../proposals';
import { activeTarget, paramsOf, selectionUi, sendSelectionRequest } from '../selection';

/** Candidates asked of the server. */
const CANDIDATES = 4;

interface Item extends vscode.QuickPickItem {
  text: string;
}

export function infillSelection(ctx: Ctx) {
  return async (): Promise<void> => {
    const t = activeTarget(false, 'infill');
    if (!t) return;
    const res = await sendSelectionRequest<InfillSpanParams, InfillSpanResult>(ctx, InfillSpanRequestMethod, {
      ...paramsOf(ctx, t),
      candidates: CANDIDATES,
    });
    if (!res) return;
    if (t.doc.version !== t.version || res.version !== t.version) {
      void vscode.window.showWarningMessage('Diffill: the document changed while the model worked; run Infill Selection again.');
      return;
    }
    if (res.candidates.length === 0) {
      void vscode.window.showInformationMessage(
        `Diffill: no candidate within ${Math.round(res.ms)} ms` +
          (res.truncated ? ' (the time budget ran out: diffill.commandTimeoutFactor gives it more).' : '.'),
      );
      return;
    }
    const original = t.doc.getText(t.range);
    const items: Item[] = res.candidates.map((c, i) => ({
      label: `${i === 0 ? '$(sparkle) ' : ''}${oneLine(c.text)}`,
      description: `p ≈ ${Math.exp(c.score).toFixed(2)}${c.text === original ? ' · same as now' : ''}`,
      detail: `${lineCount(c.text)} line${lineCount(c.text) === 1 ? '' : 's'}, ${c.text.length} characters`,
      text: c.text,
    }));
    const picked = await pick(ctx, t.doc, t.range, items, `Diffill: ${items.length} candidate${items.length === 1 ? '' : 's'} (${Math.round(res.ms)} ms)`);
    if (!picked) return;
    if (t.doc.isClosed || t.doc.version !== t.version) {
      void vscode.window.showWarningMessage('Diffill: the document changed meanwhile; nothing was applied.');
      return;
    }
    const start = t.doc.offsetAt(t.range.start);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(t.doc.uri, t.range, picked.text);
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showWarningMessage('Diffill: VS Code refused the edit; nothing was applied.');
      return;
    }
    // the new text stays selected: running the command again offers other candidates for it
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === t.doc);
    if (editor) editor.selection = new vscode.Selection(t.doc.positionAt(start), t.doc.positionAt(start + picked.text.length));
  };
}

/** The quick pick; the active candidate is previewed in a diff beside the document. */
async function pick(ctx: Ctx, doc: vscode.TextDocument, range: vscode.Range, items: Item[], title: string): Promise<Item | undefined> {
  const { proposals } = selectionUi(ctx);
  const preview = proposals.create(INFILL_SCHEME, doc.uri, replaced(doc, range, items[0].text));
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = title;
  qp.placeholder = 'Enter replaces the selection with this candidate · Escape keeps the document as it is';
  qp.items = items;
  qp.ignoreFocusOut = true; // the diff beside it must not close it
  let diffShown = false;
  const show = async (item: Item): Promise<void> => {
    proposals.update(preview, replaced(doc, range, item.text));
    if (diffShown) return;
    diffShown = true;
    const name = doc.uri.path.split('/').pop() || doc.uri.toString();
    await showDiff(doc, preview, `${name} ↔ Diffill infill`, { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
  };
  try {
    return await new Promise<Item | undefined>((resolve) => {
      qp.onDidChangeActive(([item]) => {
        if (item) show(item).catch((err) => ctx.output.warn(`infill preview failed: ${String(err)}`));
      });
      qp.onDidAccept(() => {
        resolve(qp.activeItems[0]);
        qp.hide();
      });
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
  } finally {
    qp.dispose();
    await proposals.close(preview);
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\r?\n/g, ' ⏎ ').replace(/\t/g, ' ');
  return flat.length > 90 ? `${flat.slice(0, 89)}…` : flat === '' ? '(empty)' : flat;
}

function lineCount(text: string): number {
  return text.split('\n').length;
}

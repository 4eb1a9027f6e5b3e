/**
 * What the selection commands (Infill Selection, Refactor Selection, Show Confidence) share on the
 * client: which editor and range they work on, sending the request with a cancellable progress
 * notification once the server reports work-done progress (it does after ~300 ms), telling the
 * user why a request was refused, and the long-lived UI pieces (virtual documents, decorations).
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress, type WorkDoneProgressBegin, type WorkDoneProgressReport } from 'vscode-languageclient/node';
import { type LspRange, SUPPORTED_LANGUAGES, type SelectionErrorReason, type SelectionParams } from '../../server/src/protocol';
import { ConfidenceView } from './confidence';
import type { Ctx } from './ctx';
import { ProposalDocuments } from './proposals';

export interface Target {
  editor: vscode.TextEditor;
  doc: vscode.TextDocument;
  /** The selection (may be empty: a cursor). */
  range: vscode.Range;
  /** The document version the request is made for. */
  version: number;
}

/** The active editor and its selection, or undefined after telling the user why not. */
export function activeTarget(needsText: boolean, verb: string): Target | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage(`Diffill: open a file to ${verb}.`);
    return undefined;
  }
  const doc = editor.document;
  if (!(SUPPORTED_LANGUAGES as readonly string[]).includes(doc.languageId)) {
    void vscode.window.showWarningMessage(`Diffill works on Python, TypeScript and JavaScript, not on ${doc.languageId}.`);
    return undefined;
  }
  const range = new vscode.Range(editor.selection.start, editor.selection.end);
  if (needsText && range.isEmpty) {
    void vscode.window.showInformationMessage(`Diffill: select the code to ${verb} first.`);
    return undefined;
  }
  return { editor, doc, range, version: doc.version };
}

/** Request params for a target. */
export function paramsOf(ctx: Ctx, t: Target): SelectionParams {
  return {
    textDocument: { uri: ctx.client.code2ProtocolConverter.asUri(t.doc.uri), version: t.version },
    range: ctx.client.code2ProtocolConverter.asRange(t.range) as LspRange,
  };
}

export function asRange(ctx: Ctx, r: LspRange): vscode.Range {
  return ctx.client.protocol2CodeConverter.asRange(r);
}

/**
 * Sends a selection request. The server reports work-done progress on our token once the request
 * runs long; then a notification shows it with a Cancel button. Resolves undefined when the user
 * cancelled or the request failed (the user has been told why).
 */
export async function sendSelectionRequest<P extends SelectionParams, R>(ctx: Ctx, method: string, params: P): Promise<R | undefined> {
  const token = `diffill-${randomUUID()}`;
  const cancel = new vscode.CancellationTokenSource();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let report: ((v: WorkDoneProgressBegin | WorkDoneProgressReport) => void) | undefined;
  const progress = ctx.client.onProgress(WorkDoneProgress.type, token, (v) => {
    if (v.kind === 'end') return finish();
    if (report) return report(v);
    if (v.kind !== 'begin') return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: v.title, cancellable: true },
      (p, userCancel) => {
        userCancel.onCancellationRequested(() => cancel.cancel());
        let shown = 0;
        report = (u) => {
          const pct = u.percentage ?? shown;
          p.report({ message: u.message, increment: Math.max(0, pct - shown) });
          shown = Math.max(shown, pct);
        };
        report(v);
        return finished;
      },
    );
  });
  try {
    return await ctx.client.sendRequest<R>(method, { ...params, workDoneToken: token }, cancel.token);
  } catch (err) {
    if (cancel.token.isCancellationRequested) return undefined;
    explainFailure(ctx, err);
    return undefined;
  } finally {
    finish();
    progress.dispose();
    cancel.dispose();
  }
}

function explainFailure(ctx: Ctx, err: unknown): void {
  const e = err as { message?: string; data?: { reason?: SelectionErrorReason } } | undefined;
  const message = e?.message ?? String(err);
  const reason = e?.data?.reason;
  ctx.output.info(`selection request failed: ${message}`);
  if (reason === 'no-model' || reason === undefined) {
    void vscode.window.showErrorMessage(`Diffill: ${message}`, 'Show Log').then((pick) => {
      if (pick) ctx.output.show(true);
    });
  } else if (reason === 'outdated') {
    void vscode.window.showWarningMessage('Diffill: the document changed while the model worked; run the command again.');
  } else {
    void vscode.window.showWarningMessage(`Diffill: ${message}.`);
  }
}

/** The UI pieces the selection commands share, created on first use and disposed with the extension. */
export interface SelectionUi {
  proposals: ProposalDocuments;
  confidence: ConfidenceView;
}

let ui: SelectionUi | undefined;

export function selectionUi(ctx: Ctx): SelectionUi {
  if (!ui) {
    const made: SelectionUi = { proposals: new ProposalDocuments(), confidence: new ConfidenceView() };
    ui = made;
    ctx.extension.subscriptions.push(made.proposals, made.confidence, { dispose: () => (ui = ui === made ? undefined : ui) });
  }
  return ui;
}

/**
 * `diffill.toggleConfidence` ("Diffill: Show Confidence"): tints the tokens of the selection (or,
 * with none, of the lines in view) that the model finds unlikely; run again, or edit, to clear.
 * It asks the server to score only (`diffill/refactor` with `scoreOnly`): nothing is rewritten.
 */
import * as vscode from 'vscode';
import { type RefactorParams, type RefactorResult, RefactorRequestMethod } from '../../../server/src/protocol';
import { DOUBTFUL_P, LOW_P, tokensOf } from '../confidence';
import type { Ctx } from '../ctx';
import { activeTarget, asRange, paramsOf, selectionUi, sendSelectionRequest } from '../selection';

export function toggleConfidence(ctx: Ctx) {
  return async (): Promise<void> => {
    const ui = selectionUi(ctx);
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && ui.confidence.isShown(active)) {
      ui.confidence.clear(active);
      return;
    }
    const t = activeTarget(false, 'score');
    if (!t) return;
    if (t.range.isEmpty) {
      const seen = t.editor.visibleRanges[0] ?? new vscode.Range(0, 0, t.doc.lineCount, 0);
      t.range = t.doc.validateRange(new vscode.Range(seen.start.line, 0, seen.end.line + 1, 0));
    }
    const res = await sendSelectionRequest<RefactorParams, RefactorResult>(ctx, RefactorRequestMethod, {
      ...paramsOf(ctx, t),
      scoreOnly: true,
    });
    if (!res) return;
    if (t.doc.version !== t.version) return; // an edit would clear the tint at once anyway
    const tokens = tokensOf(t.doc, res.confidence.map((c) => ({ range: asRange(ctx, c.range), p: c.p })));
    const tinted = ui.confidence.show(t.doc.uri, tokens);
    const low = tokens.filter((c) => c.p < LOW_P).length;
    vscode.window.setStatusBarMessage(
      `Diffill: ${low} of ${tokens.length} tokens below p ${LOW_P}, ${tinted - low} below ${DOUBTFUL_P}` +
        (res.truncated ? ' (time budget ran out)' : ''),
      8000,
    );
  };
}

/**
 * Read-only virtual documents that hold what Diffill proposes (a refactored document, an infill
 * candidate in place) so that `vscode.diff` can show them beside the original. The real document is
 * never touched until the user accepts.
 *
 *   diffill-refactor:/<path of the original>?<id>   Refactor Selection's result
 *   diffill-infill:/<path of the original>?<id>     Infill Selection's preview of one candidate
 */
import * as vscode from 'vscode';

export const REFACTOR_SCHEME = 'diffill-refactor';
export const INFILL_SCHEME = 'diffill-infill';

export class ProposalDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registrations: vscode.Disposable[];
  private next = 1;
  readonly onDidChange = this.changed.event;

  constructor() {
    this.registrations = [
      vscode.workspace.registerTextDocumentContentProvider(REFACTOR_SCHEME, this),
      vscode.workspace.registerTextDocumentContentProvider(INFILL_SCHEME, this),
    ];
  }

  /** A new virtual document named after `original` (so it gets the same syntax colouring). */
  create(scheme: string, original: vscode.Uri, content: string): vscode.Uri {
    const name = original.path.startsWith('/') ? original.path : `/${original.path}`;
    const uri = vscode.Uri.from({ scheme, path: name, query: String(this.next++) });
    this.contents.set(uri.toString(), content);
    return uri;
  }

  update(uri: vscode.Uri, content: string): void {
    this.contents.set(uri.toString(), content);
    this.changed.fire(uri);
  }

  /** Forgets the document and closes the tabs that show it. */
  async close(uri: vscode.Uri): Promise<void> {
    this.contents.delete(uri.toString());
    const key = uri.toString();
    const tabs = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => {
        const input = t.input;
        if (input instanceof vscode.TabInputTextDiff) return input.modified.toString() === key || input.original.toString() === key;
        if (input instanceof vscode.TabInputText) return input.uri.toString() === key;
        return false;
      });
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  dispose(): void {
    for (const r of this.registrations) r.dispose();
    this.changed.dispose();
    this.contents.clear();
  }
}

/** The text of `doc` with [range] replaced by `text`. */
export function replaced(doc: vscode.TextDocument, range: vscode.Range, text: string): string {
  const all = doc.getText();
  return all.slice(0, doc.offsetAt(range.start)) + text + all.slice(doc.offsetAt(range.end));
}

/** Opens (or refreshes) a diff of `original` against the virtual `proposal`, in the language of `original`. */
export async function showDiff(
  original: vscode.TextDocument,
  proposal: vscode.Uri,
  title: string,
  options: vscode.TextDocumentShowOptions,
): Promise<void> {
  const virtual = await vscode.workspace.openTextDocument(proposal);
  if (virtual.languageId !== original.languageId) {
    await vscode.languages.setTextDocumentLanguage(virtual, original.languageId).then(undefined, () => undefined);
  }
  await vscode.commands.executeCommand('vscode.diff', original.uri, proposal, title, options);
}

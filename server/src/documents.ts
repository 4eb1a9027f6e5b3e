/**
 * Document helpers on top of vscode-languageserver's TextDocuments (incremental sync): the synced
 * documents, checked on the way in, and turning an LSP position into an offset while refusing
 * positions that are not in the document.
 */
import { type TextDocumentContentChangeEvent, TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';

/**
 * The open documents. An edit the text-document library cannot apply safely (a range whose line
 * or character is not a non-negative integer makes it loop forever; text that is not a string)
 * is refused, and the document is put aside until the client opens it again: its text on the
 * server no longer matches the client's, so it gets no completions (`get` says undefined).
 */
export class SyncedDocuments extends TextDocuments<TextDocument> {
  private readonly desynced: Set<string>;

  constructor(warn: (message: string) => void) {
    const desynced = new Set<string>();
    super({
      create: (uri, languageId, version, text) => {
        desynced.delete(uri);
        if (typeof text !== 'string' || typeof languageId !== 'string') {
          warn(`didOpen of ${String(uri)} without text or language: ignored until it is opened again`);
          desynced.add(uri);
          return TextDocument.create(uri, 'plaintext', 0, '');
        }
        return TextDocument.create(uri, languageId, version, text);
      },
      update: (doc, changes, version) => {
        if (desynced.has(doc.uri)) return doc;
        const why = invalidChanges(changes);
        if (why) {
          warn(`didChange of ${doc.uri} refused (${why}): no completions there until it is opened again`);
          desynced.add(doc.uri);
          return doc;
        }
        return TextDocument.update(doc, changes, version);
      },
    });
    this.desynced = desynced;
    this.onDidClose((e) => desynced.delete(e.document.uri));
  }

  /** The document, unless it is unknown or put aside after a refused edit. */
  override get(uri: string): TextDocument | undefined {
    return this.desynced.has(uri) ? undefined : super.get(uri);
  }
}

/** Why a didChange's content changes cannot be applied, or undefined when they can. */
export function invalidChanges(changes: unknown): string | undefined {
  if (!Array.isArray(changes)) return 'contentChanges is not an array';
  for (const c of changes as TextDocumentContentChangeEvent[]) {
    if (!c || typeof c !== 'object' || typeof c.text !== 'string') return 'a change without text';
    if ('range' in c && c.range !== undefined) {
      const r = c.range as { start?: unknown; end?: unknown };
      if (!r || !isPosition(r.start) || !isPosition(r.end)) return 'a range that is not two positions of non-negative integers';
    }
  }
  return undefined;
}

function isPosition(p: unknown): boolean {
  if (!p || typeof p !== 'object') return false;
  const { line, character } = p as { line?: unknown; character?: unknown };
  return isIndex(line) && isIndex(character);
}

/**
 * The offset of an LSP position, or undefined when the position is malformed or lies outside the
 * document (a line past the end, a character past the end of its line).
 */
export function offsetOf(doc: TextDocument, position: unknown): number | undefined {
  if (!position || typeof position !== 'object') return undefined;
  const { line, character } = position as { line?: unknown; character?: unknown };
  if (!isIndex(line) || !isIndex(character)) return undefined;
  if (line >= doc.lineCount) return undefined;
  const start = doc.offsetAt({ line, character: 0 });
  const end = doc.offsetAt({ line, character: Number.MAX_SAFE_INTEGER }); // clamped before the EOL
  if (character > end - start) return undefined;
  return start + character;
}

/** Offset of a 1-based line and column (column counted in UTF-16 units, as editors do). */
export function offsetAtLineCol(text: string, line: number, col: number): number | undefined {
  if (line < 1 || col < 1) return undefined;
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  if (end > start && text[end - 1] === '\r') end--;
  return start + col - 1 <= end ? start + col - 1 : undefined;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;
}

/**
 * Document helpers on top of vscode-languageserver's TextDocuments (incremental sync): turning an
 * LSP position into an offset while refusing positions that are not in the document.
 */
import type { TextDocument } from 'vscode-languageserver-textdocument';

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

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;
}

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

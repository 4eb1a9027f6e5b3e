/**
 * Typed-ahead reuse: while the user types the very characters of the ghost text on screen, the rest
 * of it stays valid — serve it without asking the model again.
 */

/** How much text on either side of the anchor must be unchanged for the reuse to be safe. */
export const ANCHOR_CHARS = 256;

interface Shown {
  uri: string;
  /** Offset of the cursor when the completion was made. */
  offset: number;
  /** Completion as inserted (document line endings). */
  text: string;
  /** Document text just before `offset`. */
  before: string;
  /** Document text just after `offset`. */
  after: string;
}

export class TypedAhead {
  private shown: Shown | undefined;

  /** Remembers the completion just served at `offset` of `docText`. */
  remember(uri: string, docText: string, offset: number, text: string): void {
    if (text === '') {
      this.shown = undefined;
      return;
    }
    this.shown = {
      uri,
      offset,
      text,
      before: docText.slice(Math.max(0, offset - ANCHOR_CHARS), offset),
      after: docText.slice(offset, offset + ANCHOR_CHARS),
    };
  }

  /**
   * The rest of the remembered completion if the document now holds its first characters at the
   * anchor and the cursor right after them; undefined otherwise.
   */
  lookup(uri: string, docText: string, offset: number): string | undefined {
    const s = this.shown;
    if (!s || s.uri !== uri) return undefined;
    const typed = offset - s.offset;
    if (typed < 1 || typed >= s.text.length) return undefined;
    if (docText.slice(s.offset, offset) !== s.text.slice(0, typed)) return undefined;
    if (docText.slice(Math.max(0, s.offset - s.before.length), s.offset) !== s.before) return undefined;
    if (docText.slice(offset, offset + s.after.length) !== s.after) return undefined;
    return s.text.slice(typed);
  }

  /** Forget (a document closed, the model changed). */
  clear(uri?: string): void {
    if (uri === undefined || this.shown?.uri === uri) this.shown = undefined;
  }
}

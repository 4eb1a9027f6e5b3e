/** Properties of the post-processing chain on random code-like text (fixed seed, bounded runs). */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { extractContext } from '../../server/src/completion/context';
import { type PostContext, postprocess } from '../../server/src/completion/postprocess';
import { TypedAhead } from '../../server/src/completion/typedAhead';

const codeChar = fc.constantFrom(...'abc xyz_01()[]{}:;,.=+"\'#\n\t  \r'.split(''));
const code = fc.array(codeChar, { maxLength: 120 }).map((cs) => cs.join(''));
const RUNS = { seed: 42, numRuns: 2000 };

function contextAt(doc: string, at: number, mode?: PostContext['mode']): PostContext {
  const c = extractContext(doc, at, 768);
  return { mode: mode ?? c.mode, prefix: c.prefix, suffix: c.suffix, linePrefix: c.linePrefix, lineSuffix: c.lineSuffix };
}

test('post-processing only removes text, never throws, and honours the mode', () => {
  fc.assert(
    fc.property(code, code, code, fc.constantFrom<PostContext['mode']>('line', 'multiline', 'span'), (before, after, raw, mode) => {
      const ctx = contextAt(before + after, before.length, mode);
      const out = postprocess(raw, ctx);
      const normalized = raw.replace(/\r\n?/g, '\n');
      assert.ok(out.length <= normalized.length, 'never longer than the model text');
      assert.ok(!out.includes('\r'));
      if (mode === 'line') assert.ok(!out.includes('\n'), 'single line');
      if (mode === 'multiline') assert.ok(out.split('\n').length <= 16);
      if (out !== '') assert.notEqual(out.trim(), '', 'no whitespace-only completions');
    }),
    RUNS,
  );
});

test('typed-ahead never serves text that disagrees with what was typed', () => {
  fc.assert(
    fc.property(code, code, code.filter((s) => s.length > 1), fc.nat(), (before, after, ghost, k) => {
      const t = new TypedAhead();
      t.remember('u', before + after, before.length, ghost);
      const typed = ghost.slice(0, 1 + (k % (ghost.length - 1)));
      const doc = before + typed + after;
      const rest = t.lookup('u', doc, before.length + typed.length);
      assert.equal(rest, ghost.slice(typed.length));
    }),
    RUNS,
  );
});

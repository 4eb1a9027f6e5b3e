import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  type PostContext,
  balanceBrackets,
  bracketStack,
  dropBlank,
  dropSuffixRepeat,
  keepIndentation,
  multiLineStop,
  normalizeNewlines,
  postprocess,
  singleLineStop,
  trimTrailingWhitespace,
} from '../../server/src/completion/postprocess';

/** A context for a cursor placed at the `|` of `doc`. */
function at(doc: string, mode: PostContext['mode'] = 'line'): PostContext {
  const i = doc.indexOf('|');
  const prefix = doc.slice(0, i);
  const suffix = doc.slice(i + 1);
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  return { mode, prefix, suffix, linePrefix, lineSuffix: nl < 0 ? suffix : suffix.slice(0, nl) };
}

describe('normalizeNewlines', () => {
  test('CRLF and CR become LF', () => {
    assert.equal(normalizeNewlines.apply('a\r\nb\rc', at('|')), 'a\nb\nc');
  });
});

describe('singleLineStop', () => {
  test('cuts at the first newline in line mode', () => {
    assert.equal(singleLineStop.apply('x + 1\n    return y', at('a = |')), 'x + 1');
  });
  test('a completion that starts with a newline is empty in line mode', () => {
    assert.equal(singleLineStop.apply('\n    pass', at('def f():|')), '');
  });
  test('leaves multi-line mode alone', () => {
    assert.equal(singleLineStop.apply('a\nb', at('|', 'multiline')), 'a\nb');
  });
});

describe('keepIndentation', () => {
  test('the user typed the indentation: the completion does not repeat it', () => {
    assert.equal(keepIndentation.apply('    return x', at('def f():\n    |', 'multiline')), 'return x');
  });
  test('at column 0 the completion keeps its indentation', () => {
    assert.equal(keepIndentation.apply('    return x', at('def f():\n|', 'multiline')), '    return x');
  });
  test('mid-line text is not touched', () => {
    assert.equal(keepIndentation.apply(' + 1', at('x = y|')), ' + 1');
  });
});

describe('multiLineStop', () => {
  test('stops at a dedent below the first line', () => {
    const ctx = at('def f(xs):\n    |', 'multiline');
    assert.equal(multiLineStop.apply('total = 0\n    for x in xs:\n        total += x\nprint(1)', ctx), 'total = 0\n    for x in xs:\n        total += x');
  });
  test('stops at a blank line', () => {
    assert.equal(multiLineStop.apply('a = 1\nb = 2\n\nc = 3', at('|', 'multiline')), 'a = 1\nb = 2');
  });
  test('stops at the line the suffix already has next', () => {
    const ctx = at('def f():\n    |\n    return total\n', 'multiline');
    assert.equal(multiLineStop.apply('total = 1\n    return total', ctx), 'total = 1');
  });
  test('keeps at most 16 lines', () => {
    const text = Array.from({ length: 40 }, (_, i) => `x${i} = ${i}`).join('\n');
    assert.equal(multiLineStop.apply(text, at('|', 'multiline')).split('\n').length, 16);
  });
});

describe('dropSuffixRepeat', () => {
  test('drops a closing bracket the line already has', () => {
    assert.equal(dropSuffixRepeat.apply('x)', at('print(|)')), 'x');
  });
  test('drops the repeated rest of the line', () => {
    assert.equal(dropSuffixRepeat.apply('a, b):', at('def f(|):')), 'a, b');
  });
  test('keeps a closer the prefix still needs', () => {
    assert.equal(dropSuffixRepeat.apply('x)', at('f(g(|)')), 'x)');
  });
  test('keeps a bracket the completion opened itself', () => {
    assert.equal(dropSuffixRepeat.apply('f(x)', at('print(|)')), 'f(x)');
  });
  test('a completion that only repeats the rest of the line becomes empty', () => {
    assert.equal(dropSuffixRepeat.apply('bar()', at('foo = |bar()')), '');
  });
  test('no rest of line: nothing to do', () => {
    assert.equal(dropSuffixRepeat.apply('x)', at('print(|')), 'x)');
  });
  test('span mode is left alone', () => {
    assert.equal(dropSuffixRepeat.apply('x)', at('print(|)', 'span')), 'x)');
  });
});

describe('balanceBrackets', () => {
  test('drops closers the suffix supplies and the prefix does not need twice', () => {
    assert.equal(balanceBrackets.apply('a, g(b))', at('f(|)')), 'a, g(b)');
  });
  test('keeps closers the prefix still needs', () => {
    assert.equal(balanceBrackets.apply('x)', at('foo(bar(|)')), 'x)');
  });
  test('counts brackets opened on earlier lines', () => {
    assert.equal(balanceBrackets.apply('c]', at('xs = [\n  a,\n  b, |]')), 'c');
  });
  test('ignores brackets inside strings and comments', () => {
    assert.deepEqual(bracketStack('f("(", \'[\') # (\n g('), ['(']);
  });
  test('a suffix with no closers changes nothing', () => {
    assert.equal(balanceBrackets.apply('x))', at('f(|')), 'x))');
  });
});

describe('trimTrailingWhitespace', () => {
  test('trims line ends and trailing newlines', () => {
    assert.equal(trimTrailingWhitespace.apply('a  \nb \n\n', at('|', 'multiline')), 'a\nb');
  });
  test('keeps a trailing space when the line goes on after the cursor', () => {
    assert.equal(trimTrailingWhitespace.apply('x ', at('|y')), 'x ');
  });
});

describe('dropBlank', () => {
  test('whitespace is no completion', () => {
    assert.equal(dropBlank.apply(' \n\t', at('|')), '');
  });
});

describe('postprocess chain', () => {
  test('line mode end to end', () => {
    assert.equal(postprocess('a + b)  \nprint(x)', at('print(|)')), 'a + b');
  });
  test('multi-line mode end to end', () => {
    const ctx = at('def add(a, b):\n    |\n\nprint(add(1, 2))\n', 'multiline');
    assert.equal(postprocess('    return a + b\n\nprint(add(1, 2))', ctx), 'return a + b');
  });
  test('reports the filters that changed the text', () => {
    const seen: string[] = [];
    postprocess('x)\n', at('f(|)'), undefined, (name) => seen.push(name));
    assert.deepEqual(seen, ['singleLineStop', 'dropSuffixRepeat']);
  });
});

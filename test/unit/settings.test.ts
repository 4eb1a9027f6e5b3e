import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, SETTING_LIMITS, isLanguageEnabled, normalizeSettings } from '../../server/src/protocol';

describe('normalizeSettings', () => {
  test('nothing → defaults', () => {
    assert.deepEqual(normalizeSettings(undefined), DEFAULT_SETTINGS);
    assert.deepEqual(normalizeSettings('garbage'), DEFAULT_SETTINGS);
  });
  test('clamps numbers and rejects wrong types', () => {
    const s = normalizeSettings({ latencyBudgetMs: 5, debounceMs: 'x', maxContextTokens: 1e9, threads: -3, enable: 'yes' });
    assert.equal(s.latencyBudgetMs, 20);
    assert.equal(s.debounceMs, DEFAULT_SETTINGS.debounceMs);
    assert.equal(s.maxContextTokens, 4096);
    assert.equal(s.threads, 0);
    assert.equal(s.enable, true);
  });
  test('lineBeamWidth is a whole number of hypotheses, 1..8 (1: greedy draft-and-verify)', () => {
    assert.equal(normalizeSettings({}).lineBeamWidth, 2);
    assert.equal(normalizeSettings({ lineBeamWidth: 3 }).lineBeamWidth, 3);
    assert.equal(normalizeSettings({ lineBeamWidth: 2.6 }).lineBeamWidth, 3);
    assert.equal(normalizeSettings({ lineBeamWidth: 50 }).lineBeamWidth, 8);
    assert.equal(normalizeSettings({ lineBeamWidth: 0 }).lineBeamWidth, 1);
    assert.equal(normalizeSettings({ lineBeamWidth: 'wide' }).lineBeamWidth, 2);
  });
  test('multilineMinConfidence is a probability: fractions kept, clamped to 0..1', () => {
    assert.equal(normalizeSettings({ multilineMinConfidence: 0.35 }).multilineMinConfidence, 0.35);
    assert.equal(normalizeSettings({ multilineMinConfidence: 3 }).multilineMinConfidence, 1);
    assert.equal(normalizeSettings({ multilineMinConfidence: -1 }).multilineMinConfidence, 0);
    assert.equal(normalizeSettings({}).multilineMinConfidence, 0.2);
  });
  test('NaN and Infinity fall back to the default', () => {
    assert.equal(normalizeSettings({ latencyBudgetMs: NaN }).latencyBudgetMs, 150);
    assert.equal(normalizeSettings({ latencyBudgetMs: Infinity }).latencyBudgetMs, 150);
  });
  test('per-language switches merge over the defaults', () => {
    const s = normalizeSettings({ languages: { python: false, rust: true, javascript: 'no' } });
    assert.equal(s.languages.python, false);
    assert.equal(s.languages.javascript, true);
    assert.equal(isLanguageEnabled(s, 'python'), false);
    assert.equal(isLanguageEnabled(s, 'typescript'), true);
    assert.equal(isLanguageEnabled(s, 'rust'), false, 'unsupported languages stay off');
    assert.equal(isLanguageEnabled({ ...s, enable: false }, 'typescript'), false);
  });
});

describe('package.json configuration mirrors protocol.ts', () => {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const props = manifest.contributes.configuration.properties as Record<string, any>;
  test('every setting has its default', () => {
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      assert.ok(props[`diffill.${key}`], `diffill.${key} is contributed`);
      assert.deepEqual(props[`diffill.${key}`].default, value, `default of diffill.${key}`);
    }
    assert.equal(Object.keys(props).length, Object.keys(DEFAULT_SETTINGS).length);
  });
  test('numeric limits match', () => {
    for (const [key, { min, max }] of Object.entries(SETTING_LIMITS)) {
      assert.equal(props[`diffill.${key}`].minimum, min, `minimum of diffill.${key}`);
      assert.equal(props[`diffill.${key}`].maximum, max, `maximum of diffill.${key}`);
    }
  });
  test('the client reads every setting (client/src/config.ts; it cannot import vscode here, so its source is read)', () => {
    const src = readFileSync(path.join(__dirname, '..', '..', 'client', 'src', 'config.ts'), 'utf8');
    for (const key of Object.keys(DEFAULT_SETTINGS)) {
      assert.ok(new RegExp(`\\b${key}:`).test(src), `client/src/config.ts does not pass diffill.${key} on`);
    }
  });
  test('modelPath is machine-scoped', () => {
    assert.equal(props['diffill.modelPath'].scope, 'machine');
  });
  test('activates on the supported languages only', () => {
    assert.deepEqual(manifest.activationEvents, Object.keys(DEFAULT_SETTINGS.languages).map((l) => `onLanguage:${l}`));
  });
});

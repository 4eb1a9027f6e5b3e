/**
 * Typed access to the `diffill.*` settings: the one place the client reads configuration.
 */
import * as vscode from 'vscode';
import { type DiffillSettings, normalizeSettings } from '../../server/src/protocol';

export const SECTION = 'diffill';

export class Config {
  /** The current settings, validated the same way the server validates them. */
  get settings(): DiffillSettings {
    const c = vscode.workspace.getConfiguration(SECTION);
    // Machine-scoped: only the user's own (global) value counts, never a workspace's.
    const modelPath = c.inspect<string>('modelPath');
    return normalizeSettings({
      enable: c.get('enable'),
      languages: c.get('languages'),
      latencyBudgetMs: c.get('latencyBudgetMs'),
      debounceMs: c.get('debounceMs'),
      maxContextTokens: c.get('maxContextTokens'),
      modelPath: modelPath?.globalValue ?? modelPath?.defaultValue ?? '',
      threads: c.get('threads'),
      verboseLogging: c.get('verboseLogging'),
      commandTimeoutFactor: c.get('commandTimeoutFactor'),
      multilineMinConfidence: c.get('multilineMinConfidence'),
      lineBeamWidth: c.get('lineBeamWidth'),
    });
  }

  /** Calls `listener` with the new settings whenever a `diffill.*` setting changes. */
  onDidChange(listener: (settings: DiffillSettings) => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) listener(this.settings);
    });
  }

  /** Turns completions on or off for the user (all workspaces). */
  async setEnabled(enabled: boolean): Promise<void> {
    await vscode.workspace.getConfiguration(SECTION).update('enable', enabled, vscode.ConfigurationTarget.Global);
  }
}

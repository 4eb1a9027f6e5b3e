/**
 * The status-bar item, rendered from the server's `diffill/status` notification alone, and the
 * progress notification shown while the model loads.
 */
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';

const ICONS: Record<StatusParams['state'], string> = {
  loading: '$(loading~spin)',
  ready: '$(sparkle)',
  thinking: '$(sync~spin)',
  error: '$(error)',
  disabled: '$(circle-slash)',
};

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private status: StatusParams = { state: 'loading', message: 'starting the language server' };
  private loading: { report: (fraction: number, message?: string) => void; done: () => void } | undefined;
  private lastErrorShown: string | undefined;

  constructor(command: string, private readonly onShowLog: () => void) {
    this.item = vscode.window.createStatusBarItem('diffill.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Diffill';
    this.item.command = command;
    this.render();
    this.item.show();
  }

  get current(): StatusParams {
    return this.status;
  }

  update(status: StatusParams): void {
    const wasLoading = this.status.state === 'loading' || this.status.state === 'error';
    this.status = status;
    // A request made while the model was loading got no answer; ask again once it is ready, so a
    // user who stopped typing still sees ghost text.
    if (wasLoading && status.state === 'ready' && vscode.window.activeTextEditor) {
      void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    }
    this.render();
    this.trackLoading();
    if (status.state === 'error' && status.message && status.message !== this.lastErrorShown) {
      this.lastErrorShown = status.message;
      void vscode.window.showErrorMessage(`Diffill: ${status.message}`, 'Show Log').then((pick) => {
        if (pick) this.onShowLog();
      });
    }
    if (status.state !== 'error') this.lastErrorShown = undefined;
  }

  dispose(): void {
    this.loading?.done();
    this.item.dispose();
  }

  private render(): void {
    const s = this.status;
    const latency = s.state === 'ready' && s.lastLatencyMs !== undefined ? ` ${s.lastLatencyMs} ms` : '';
    this.item.text = `${ICONS[s.state]} Diffill${latency}`;
    this.item.backgroundColor =
      s.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const lines = [
      `**Diffill** — ${s.state}`,
      s.message ? s.message : undefined,
      s.model ? `model: ${s.model}` : undefined,
      s.lastLatencyMs !== undefined ? `last completion: ${s.lastLatencyMs} ms` : undefined,
      'click for the menu',
    ].filter((l): l is string => l !== undefined);
    this.item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
    this.item.accessibilityInformation = { label: `Diffill ${s.state}${s.message ? `: ${s.message}` : ''}` };
  }

  /** A notification with progress for as long as the state says 'loading'. */
  private trackLoading(): void {
    const s = this.status;
    if (s.state !== 'loading') {
      this.loading?.done();
      this.loading = undefined;
      return;
    }
    if (this.loading) {
      this.loading.report(s.progress ?? 0, s.message);
      return;
    }
    let reported = 0;
    let resolve!: () => void;
    let progress!: vscode.Progress<{ message?: string; increment?: number }>;
    const finished = new Promise<void>((r) => (resolve = r));
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Diffill: loading the model' },
      (p) => {
        progress = p;
        return finished;
      },
    );
    this.loading = {
      report: (fraction, message) => {
        const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
        progress?.report({ message, increment: Math.max(0, pct - reported) });
        reported = Math.max(reported, pct);
      },
      done: resolve,
    };
    this.loading.report(s.progress ?? 0, s.message);
  }
}

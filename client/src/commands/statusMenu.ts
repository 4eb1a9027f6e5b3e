import * as vscode from 'vscode';
import type { Ctx } from '../ctx';

interface Entry extends vscode.QuickPickItem {
  run: () => unknown;
}

/** `diffill.statusMenu` (a click on the status bar item): the few things one wants from there. */
export function statusMenu(ctx: Ctx) {
  return async (): Promise<void> => {
    const s = ctx.status.current;
    const enabled = ctx.config.settings.enable;
    const entries: Entry[] = [
      {
        label: enabled ? '$(circle-slash) Turn completions off' : '$(sparkle) Turn completions on',
        run: () => vscode.commands.executeCommand('diffill.toggle'),
      },
      { label: '$(output) Show log', run: () => vscode.commands.executeCommand('diffill.showLog') },
      {
        label: '$(gear) Open settings',
        run: () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:diffill.diffill'),
      },
    ];
    const detail = [s.state, s.model, s.lastLatencyMs !== undefined ? `${s.lastLatencyMs} ms` : undefined, s.message]
      .filter(Boolean)
      .join(' · ');
    const pick = await vscode.window.showQuickPick(entries, { title: `Diffill — ${detail}` });
    await pick?.run();
  };
}

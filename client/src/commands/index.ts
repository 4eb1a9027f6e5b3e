/** Command registry: each command is a factory taking the extension's context. */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { infillSelection } from './infillSelection';
import { acceptRefactor, refactorSelection, rejectRefactor } from './refactorSelection';
import { showLog } from './showLog';
import { statusMenu } from './statusMenu';
import { toggleConfidence } from './toggleConfidence';
import { toggle } from './toggle';

export const COMMANDS = {
  'diffill.toggle': toggle,
  'diffill.showLog': showLog,
  'diffill.statusMenu': statusMenu,
  'diffill.infillSelection': infillSelection,
  'diffill.refactorSelection': refactorSelection,
  'diffill.toggleConfidence': toggleConfidence,
  'diffill.acceptRefactor': acceptRefactor,
  'diffill.rejectRefactor': rejectRefactor,
} satisfies Record<string, (ctx: Ctx) => (...args: unknown[]) => unknown>;

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx)));
}

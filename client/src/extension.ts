/**
 * Activation: start the language server, route its status to the status bar, push settings
 * changes to it, register the commands. Everything smart happens in the server.
 */
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, State } from 'vscode-languageclient/node';
import { type StatusParams, StatusNotificationMethod } from '../../server/src/protocol';
import { createClient } from './client';
import { registerCommands } from './commands';
import { Config } from './config';
import type { Ctx } from './ctx';
import { StatusBar } from './status';

let ctx: Ctx | undefined;

export async function activate(extension: vscode.ExtensionContext): Promise<Ctx> {
  const config = new Config();
  const output = vscode.window.createOutputChannel('Diffill', { log: true });
  const status = new StatusBar('diffill.statusMenu', () => output.show(true));
  const client = createClient(extension, output, config.settings);
  ctx = { extension, config, status, output, client };

  extension.subscriptions.push(
    output,
    status,
    ...registerCommands(ctx),
    client.onNotification(StatusNotificationMethod, (p: StatusParams) => status.update(p)),
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) status.update({ state: 'error', message: 'the language server stopped' });
      else if (e.newState === State.Starting) status.update({ state: 'loading', message: 'starting the language server' });
    }),
    config.onDidChange((settings) => {
      if (client.isRunning()) {
        void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { diffill: settings } });
      }
    }),
  );

  try {
    await client.start();
  } catch (err) {
    status.update({ state: 'error', message: `the language server did not start: ${String(err)}` });
  }
  return ctx;
}

export async function deactivate(): Promise<void> {
  if (ctx?.client.isRunning()) await ctx.client.stop();
  ctx = undefined;
}

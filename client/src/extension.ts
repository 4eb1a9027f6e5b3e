/**
 * Activation: start the language server, route its status to the status bar, push settings
 * changes to it, register the commands. Everything smart happens in the server.
 */
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, State } from 'vscode-languageclient/node';
import { type StatusParams, StatusNotificationMethod } from '../../server/src/protocol';
import { createClient, errorHandler } from './client';
import { registerCommands } from './commands';
import { Config } from './config';
import type { Ctx } from './ctx';
import { RestartPolicy } from './restartPolicy';
import { StatusBar } from './status';

let ctx: Ctx | undefined;

export async function activate(extension: vscode.ExtensionContext): Promise<Ctx> {
  const config = new Config();
  const output = vscode.window.createOutputChannel('Diffill', { log: true });
  const status = new StatusBar('diffill.statusMenu', () => output.show(true));
  const restarts = new RestartPolicy();
  const client = createClient(extension, output, config.settings, errorHandler(restarts, (st) => status.update(st)));
  ctx = { extension, config, status, output, client };

  extension.subscriptions.push(
    output,
    status,
    ...registerCommands(ctx),
    client.onNotification(StatusNotificationMethod, (p: StatusParams) => status.update(p)),
    client.onDidChangeState((e) => {
      const phase = e.newState === State.Running ? 'running' : e.newState === State.Starting ? 'starting' : 'stopped';
      const shown = restarts.statusFor(phase); // a crash, a restart, or the restart cap
      if (shown) status.update(shown);
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

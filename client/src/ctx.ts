/** The long-lived state of the extension, handed to every command factory. */
import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { Config } from './config';
import type { StatusBar } from './status';

export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly config: Config;
  readonly status: StatusBar;
  readonly output: vscode.LogOutputChannel;
  readonly client: LanguageClient;
}

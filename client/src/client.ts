/**
 * Builds the LanguageClient: the server is `dist/server.js`, started over Node IPC. The client
 * knows nothing of completions; inline completions are the standard LSP request.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import {
  CloseAction,
  type DocumentSelector,
  ErrorAction,
  type ErrorHandler,
  type LanguageClientOptions,
  LanguageClient,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { serverMallocEnv } from '../../server/src/mallocEnv';
import { type DiffillSettings, type StatusParams, SUPPORTED_LANGUAGES } from '../../server/src/protocol';
import type { RestartPolicy } from './restartPolicy';

/** Plain files, unsaved buffers and notebook cells of the supported languages. */
export const DOCUMENT_SELECTOR: DocumentSelector = SUPPORTED_LANGUAGES.flatMap((language) =>
  ['file', 'untitled', 'vscode-notebook-cell'].map((scheme) => ({ scheme, language })),
);

/**
 * Restarts a crashed server as `policy` says (at most 4 times in 3 minutes by default) and shows
 * each decision through `onStatus`; transport errors are tolerated three times, as the library does.
 */
export function errorHandler(policy: RestartPolicy, onStatus: (status: StatusParams) => void): ErrorHandler {
  return {
    error: (_error, _message, count) => ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
    closed: () => {
      const d = policy.onCrash();
      onStatus(d.status);
      return { action: d.restart ? CloseAction.Restart : CloseAction.DoNotRestart, message: d.status.message, handled: true };
    },
  };
}

/** glibc malloc settings for the server process (server/src/mallocEnv.ts). */
export const SERVER_MALLOC_ENV: Record<string, string> = serverMallocEnv();

export function createClient(
  extension: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
  settings: DiffillSettings,
  handler?: ErrorHandler,
): LanguageClient {
  const module = extension.asAbsolutePath(path.join('dist', 'server.js'));
  const env = { ...process.env, ...SERVER_MALLOC_ENV };
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { env } },
    debug: { module, transport: TransportKind.ipc, options: { env, execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    initializationOptions: { settings },
    errorHandler: handler,
  };
  return new LanguageClient('diffill', 'Diffill', serverOptions, clientOptions);
}

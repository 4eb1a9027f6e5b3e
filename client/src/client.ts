/**
 * Builds the LanguageClient: the server is `dist/server.js`, started over Node IPC. The client
 * knows nothing of completions; inline completions are the standard LSP request.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import {
  type DocumentSelector,
  type LanguageClientOptions,
  LanguageClient,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { type DiffillSettings, SUPPORTED_LANGUAGES } from '../../server/src/protocol';

/** Plain files, unsaved buffers and notebook cells of the supported languages. */
export const DOCUMENT_SELECTOR: DocumentSelector = SUPPORTED_LANGUAGES.flatMap((language) =>
  ['file', 'untitled', 'vscode-notebook-cell'].map((scheme) => ({ scheme, language })),
);

export function createClient(
  extension: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
  settings: DiffillSettings,
): LanguageClient {
  const module = extension.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    initializationOptions: { settings },
  };
  return new LanguageClient('diffill', 'Diffill', serverOptions, clientOptions);
}

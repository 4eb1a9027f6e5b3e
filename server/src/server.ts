/**
 * The Diffill language server: the connection and one handler per message. Everything smart lives
 * in completion/ (the pipeline) and the engine; this file wires them to LSP.
 *
 * Run: `node dist/server.js --stdio` (or `--node-ipc`, as the VS Code client starts it).
 */
import {
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type InlineCompletionItem,
  type CancellationToken,
  createConnection,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { loadEngine } from '../../engine/src/index';
import { registerSelectionCommands } from './commands';
import { CompletionPipeline } from './completion/pipeline';
import { offsetOf } from './documents';
import { EngineHost, type LoadEngine, defaultModelsRoot } from './engineHost';
import { type Logger, createLogger, describeError } from './log';
import {
  type DiffillSettings,
  type StatusParams,
  StatusNotificationMethod,
  isLanguageEnabled,
  normalizeSettings,
} from './protocol';
import { StatusReporter } from './status';

export const SERVER_NAME = 'diffill';
export const SERVER_VERSION = '0.1.0';

export interface ServerDeps {
  loadEngine: LoadEngine;
  modelsRoot: string;
}

export function startServer(connection: Connection, deps: ServerDeps): void {
  const documents = new TextDocuments(TextDocument);
  let settings: DiffillSettings = normalizeSettings(undefined);
  const log: Logger = createLogger(
    { error: (m) => connection.console.error(m), warn: (m) => connection.console.warn(m), info: (m) => connection.console.info(m) },
    () => settings.verboseLogging,
  );

  const status = new StatusReporter((p: StatusParams) => {
    connection.sendNotification(StatusNotificationMethod, p).catch(() => undefined);
  });
  const host = new EngineHost(deps.loadEngine, deps.modelsRoot, log, (state, swapped) => {
    if (swapped) pipeline.reset();
    status.setEngine(state);
  });
  const pipeline = new CompletionPipeline({
    engine: () => host.current(),
    settings: () => settings,
    log,
    onFill: (phase, result) => status.setThinking(phase === 'start', result?.ms),
  });

  const applySettings = (raw: unknown): void => {
    settings = normalizeSettings(raw);
    status.setEnabled(settings.enable);
    if (!settings.enable) pipeline.cancelAll();
    void host.configure(settings);
  };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const init = params.initializationOptions as { settings?: unknown } | undefined;
    settings = normalizeSettings(init?.settings);
    status.setEnabled(settings.enable);
    log.info(`${SERVER_NAME} ${SERVER_VERSION} on node ${process.version}, pid ${process.pid}`);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        inlineCompletionProvider: true,
      },
      serverInfo: { name: SERVER_NAME, version: SERVER_VERSION },
    };
  });

  connection.onInitialized(() => {
    status.start();
    void host.configure(settings); // in the background: requests get empty answers until it is ready
  });

  connection.onDidChangeConfiguration((params) => {
    const all = (params?.settings ?? {}) as { diffill?: unknown };
    if (all.diffill !== undefined) applySettings(all.diffill);
  });

  documents.onDidClose((e) => {
    pipeline.forget(e.document.uri);
    try {
      host.current()?.evict(e.document.uri);
    } catch (err) {
      log.warn(`evict failed: ${describeError(err)}`);
    }
  });

  connection.languages.inlineCompletion.on(async (params, token): Promise<InlineCompletionItem[]> => {
    try {
      const uri = params?.textDocument?.uri;
      const doc = typeof uri === 'string' ? documents.get(uri) : undefined;
      if (!doc) return [];
      if (!isLanguageEnabled(settings, doc.languageId)) return [];
      const offset = offsetOf(doc, params.position);
      if (offset === undefined) return [];

      const result = await pipeline.complete({
        uri: doc.uri,
        text: doc.getText(),
        offset,
        version: doc.version,
        currentVersion: () => documents.get(doc.uri)?.version,
        signal: abortSignalOf(token),
      });
      const cancelled = token.isCancellationRequested;
      const reason = cancelled ? 'cancelled' : result.reason;
      log.info(
        `inlineCompletion ${result.source}${reason ? ` (${reason})` : ''}: ` +
          `${result.text.length} chars in ${result.totalMs.toFixed(0)} ms`,
      );
      if (cancelled) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
      if (result.text === '') return [];
      const at = { line: params.position.line, character: params.position.character };
      return [{ insertText: result.text, range: { start: at, end: at } }];
    } catch (err) {
      if (err instanceof ResponseError) throw err;
      log.error(`inlineCompletion failed: ${describeError(err)}`);
      return [];
    }
  });

  registerSelectionCommands({ connection, documents, host, settings: () => settings, log });

  connection.onShutdown(async () => {
    pipeline.cancelAll();
    await host.dispose();
  });

  documents.listen(connection);
  connection.listen();
}

/** An AbortSignal that follows an LSP cancellation token. */
function abortSignalOf(token: CancellationToken): AbortSignal {
  const ctl = new AbortController();
  if (token.isCancellationRequested) ctl.abort();
  else token.onCancellationRequested(() => ctl.abort());
  return ctl.signal;
}

function main(): void {
  // A completion server lives for days inside the editor: log the unexpected, keep serving.
  let reporting = false;
  const report = (what: string, err: unknown): void => {
    if (reporting) return;
    reporting = true;
    try {
      process.stderr.write(`[diffill] ${what}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    } catch {
      // stderr gone too: nothing left to tell
    } finally {
      reporting = false;
    }
  };
  process.on('uncaughtException', (err) => report('uncaught exception', err));
  process.on('unhandledRejection', (err) => report('unhandled rejection', err));

  const connection = createConnection(ProposedFeatures.all);
  startServer(connection, { loadEngine, modelsRoot: defaultModelsRoot() });
}

main();

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
  type InlineCompletionParams,
  type CancellationToken,
  createConnection,
  InlineCompletionRequest,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { loadEngine } from '../../engine/src/index';
import { registerSelectionCommands } from './commands';
import { CompletionPipeline } from './completion/pipeline';
import { SyncedDocuments, offsetOf } from './documents';
import { EngineHost, type LoadEngine, defaultModelsRoot } from './engineHost';
import { parseFaults, withFaults } from './faults';
import { type Logger, createLogger, describeError } from './log';
import {
  type DiffillSettings,
  type StatusParams,
  StatusNotificationMethod,
  isLanguageEnabled,
  normalizeSettings,
} from './protocol';
import { StatusReporter } from './status';
import { guardedTransport } from './transport';

export const SERVER_NAME = 'diffill';
export const SERVER_VERSION = '0.1.0';

export interface ServerDeps {
  loadEngine: LoadEngine;
  modelsRoot: string;
}

export interface StartedServer {
  /** A warning for the log: the LSP log once the client initialized, stderr before. */
  warn(message: string): void;
}

export function startServer(connection: Connection, deps: ServerDeps): StartedServer {
  const documents = new SyncedDocuments((m) => log.warn(m));
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

  let initialized = false;
  connection.onInitialize((params: InitializeParams): InitializeResult => {
    initialized = true;
    const init = params?.initializationOptions as { settings?: unknown } | undefined;
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
    host.watch(); // a broken model recovers once its files are fixed
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

  // Registered on the request type (not `languages.inlineCompletion.on`, whose work-done wrapper
  // throws on `null` params): any params get an answer, [] when they make no sense.
  connection.onRequest(InlineCompletionRequest.type, async (params: InlineCompletionParams | null, token): Promise<InlineCompletionItem[]> => {
    try {
      const uri = params?.textDocument?.uri;
      const doc = typeof uri === 'string' ? documents.get(uri) : undefined;
      if (!doc) return [];
      if (!isLanguageEnabled(settings, doc.languageId)) return [];
      const offset = offsetOf(doc, params?.position);
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
      const at = { line: params!.position.line, character: params!.position.character };
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
    status.dispose();
    await host.dispose();
  });

  documents.listen(connection);
  connection.listen();
  return {
    warn: (message) => (initialized ? log.warn(message) : writeStderr(`[diffill] ${message}`)),
  };
}

function writeStderr(line: string): void {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // stderr gone: nothing left to tell
  }
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

  // stdio and node-ipc go through the input guard (transport.ts); other transports as the library sets them up.
  let server: StartedServer | undefined;
  const transport = guardedTransport(process.argv.slice(2), (m) => (server ? server.warn(m) : writeStderr(`[diffill] ${m}`)));
  const connection = transport
    ? createConnection(ProposedFeatures.all, transport.input as NodeJS.ReadableStream, transport.output as never)
    : createConnection(ProposedFeatures.all);

  const { faults, unknown } = parseFaults(process.env.DIFFILL_FAULT);
  if (faults.length + unknown.length > 0) {
    writeStderr(`[diffill] DIFFILL_FAULT: injecting ${faults.join(', ') || 'nothing'}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  server = startServer(connection, { loadEngine: withFaults(loadEngine, faults), modelsRoot: defaultModelsRoot() });
}

main();

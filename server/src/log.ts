/**
 * The server's log. Document text goes only through `text()`, which writes nothing unless the user
 * turned on `diffill.verboseLogging`: by default the log holds no code.
 */

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  /** Document text (prefix, suffix, completion): written only in verbose mode. */
  text(label: string, text: string): void;
}

export interface LogSink {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

/** `timestamps`: prefix lines with the time (the LSP client stamps its log lines itself). */
export function createLogger(sink: LogSink, verbose: () => boolean, timestamps = false): Logger {
  const stamp = (m: string): string => (timestamps ? `${new Date().toISOString().slice(11, 23)} ${m}` : m);
  return {
    error: (m) => sink.error(stamp(m)),
    warn: (m) => sink.warn(stamp(m)),
    info: (m) => sink.info(stamp(m)),
    text: (label, text) => {
      if (verbose()) sink.info(stamp(`${label}: ${JSON.stringify(text)}`));
    },
  };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, text() {} };

/** An error as one line, without the document text an engine error might quote. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 500);
  return String(err).slice(0, 500);
}

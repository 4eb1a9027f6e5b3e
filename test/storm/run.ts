/**
 * `npm run storm`: the full typing storm on the real model; prints progress, the table, and one
 * JSON line. Exit code 1 when a limit is broken (crash, stale answer, error, unanswered request,
 * RSS growth over 10 %).
 *
 *   npm run storm -- [--keys 10000] [--seed 1] [--warmup 3000] [--budget 150] [--debounce 25] [--no-malloc-env]
 *
 * The server gets the glibc malloc settings the client starts it with (server/src/mallocEnv.ts);
 * --no-malloc-env leaves glibc's defaults.
 */
import { serverMallocEnv } from '../../server/src/mallocEnv';
import { DEFAULT_SETTINGS } from '../../server/src/protocol';
import { OTHER_MODEL, SERVER, skipReason } from '../protocol/session';
import { STORM_DEFAULTS, formatTable, runStorm } from './storm';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

async function main(): Promise<void> {
  if (skipReason) {
    console.log(`storm skipped: ${skipReason}`);
    return;
  }
  const keystrokes = arg('keys', STORM_DEFAULTS.keystrokes);
  const settings = {
    ...DEFAULT_SETTINGS,
    modelPath: OTHER_MODEL ?? '',
    latencyBudgetMs: arg('budget', DEFAULT_SETTINGS.latencyBudgetMs),
    debounceMs: arg('debounce', DEFAULT_SETTINGS.debounceMs),
  };
  const mallocEnv = !process.argv.includes('--no-malloc-env');
  console.log(`typing storm: ${keystrokes} keystrokes, malloc settings ${mallocEnv ? JSON.stringify(serverMallocEnv()) : 'glibc defaults'}, seed ${arg('seed', STORM_DEFAULTS.seed)}, budget ${settings.latencyBudgetMs} ms, debounce ${settings.debounceMs} ms, server ${SERVER}`);
  const report = await runStorm({
    ...STORM_DEFAULTS,
    server: SERVER,
    env: mallocEnv ? { ...process.env, ...serverMallocEnv() } : process.env,
    settings,
    keystrokes,
    seed: arg('seed', STORM_DEFAULTS.seed),
    warmupKeystrokes: arg('warmup', Math.min(STORM_DEFAULTS.warmupKeystrokes, Math.floor(keystrokes * 0.3))),
    progress: (line) => console.log(`  ${line}`),
  });
  console.log();
  console.log(formatTable(report));
  console.log();
  console.log(JSON.stringify(report));
  if (!report.passed) {
    console.error(`\nSTORM FAILED:\n${report.failures.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

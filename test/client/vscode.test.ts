/**
 * Client tests in a real VS Code through @vscode/test-electron. They need a VS Code binary, which
 * cannot be downloaded everywhere: set VSCODE_BINARY to its executable (or have `code` on PATH);
 * without one the test is skipped with that reason.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');
const SUITE = path.join(ROOT, 'out', 'test', 'client', 'suite', 'index.js');

function findVsCode(): string | undefined {
  const fromEnv = process.env.VSCODE_BINARY;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const which = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' });
  const cli = which.status === 0 ? which.stdout.trim() : '';
  if (!cli) return undefined;
  // `code` on PATH is usually the CLI script <install>/bin/code; the executable is <install>/code.
  const real = realpathSync(cli);
  const exe = path.join(path.dirname(path.dirname(real)), process.platform === 'win32' ? 'Code.exe' : 'code');
  return existsSync(exe) ? exe : real;
}

const vscodeBinary = findVsCode();
const skip = !vscodeBinary
  ? 'no VS Code binary: set VSCODE_BINARY=/path/to/code (the executable) or put `code` on PATH to run the @vscode/test-electron tests'
  : !existsSync(SUITE)
    ? `${path.relative(ROOT, SUITE)} is not built: run \`npm run build\``
    : false;
if (skip) console.log(`# client tests skipped: ${skip}`);

test('the extension in VS Code (@vscode/test-electron)', { skip, timeout: 300_000 }, async () => {
  const { runTests } = await import('@vscode/test-electron');
  const userData = mkdtempSync(path.join(tmpdir(), 'diffill-vscode-'));
  try {
    await runTests({
      vscodeExecutablePath: vscodeBinary!,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: SUITE,
      launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userData, '--skip-welcome'],
    });
  } finally {
    rmSync(userData, { recursive: true, force: true });
  }
});

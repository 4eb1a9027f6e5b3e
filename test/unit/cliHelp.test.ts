/**
 * `diffill <command> --help` prints the usage and runs nothing (session 20: `bench --help` used to
 * start a three-minute benchmark, which then disturbed another one running beside it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const skip = fs.existsSync(CLI) ? false : 'dist/cli.js is not built (npm run build)';

test('--help after any command prints the usage at once, exit code 0', { skip, timeout: 30_000 }, () => {
  for (const args of [['bench', '--help'], ['infill', '-h'], ['complete', 'x.py', '1:1', '--help'], ['--help']]) {
    // a command that ran instead (bench: minutes) is killed by the timeout and fails the status check
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stdout, /^usage:/, args.join(' '));
    assert.match(r.stdout, /diffill bench/);
  }
});

test('--model takes a path relative to the working directory (the CLI is a shell command)', { skip, timeout: 120_000 }, () => {
  const root = path.join(__dirname, '..', '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffill-cli-'));
  try {
    const file = path.join(dir, 'a.py');
    fs.writeFileSync(file, 'def add(a, b):\n    return \n');
    const ok = spawnSync(process.execPath, [CLI, 'complete', file, '2:12', '--model', 'models/diffill-code-24m', '--json'], { cwd: root, encoding: 'utf8', timeout: 100_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).model, 'diffill-code-24m');
    // a relative folder that is not there: named by its resolved path, not refused for being relative
    const bad = spawnSync(process.execPath, [CLI, 'complete', file, '2:12', '--model', 'no-such-model-dir'], { cwd: dir, encoding: 'utf8', timeout: 100_000 });
    assert.notEqual(bad.status, 0);
    assert.doesNotMatch(bad.stderr, /must be an absolute path/);
    assert.ok(bad.stderr.includes(path.join(dir, 'no-such-model-dir')), bad.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

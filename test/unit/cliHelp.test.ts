/**
 * `diffill <command> --help` prints the usage and runs nothing (session 20: `bench --help` used to
 * start a three-minute benchmark, which then disturbed another one running beside it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
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

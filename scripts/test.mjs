// Runs the test suites with Node's built-in test runner (TypeScript through tsx):
//   node scripts/test.mjs            unit + engine + protocol + client (the last two skip with a reason
//                                    when the model / a VS Code binary is missing)
//   node scripts/test.mjs unit       only the unit tests (server logic, engine unit tests)
//   node scripts/test.mjs protocol   only the LSP-over-stdio tests, with the small typing storm
//                                    (need `npm run build` first; the full storm is `npm run storm`)
//   node scripts/test.mjs client     only the @vscode/test-electron tests
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

const SUITES = {
  unit: ['test/unit', 'engine'],
  protocol: ['test/protocol', 'test/storm'],
  client: ['test/client'],
};

function testFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((e) => e !== 'node_modules' && !e.startsWith('.'))
    .sort()
    .flatMap((e) => {
      const p = path.join(dir, e);
      if (statSync(p).isDirectory()) return testFiles(p);
      return /\.test\.[cm]?[jt]s$/.test(e) ? [p] : [];
    });
}

const wanted = process.argv.slice(2);
const suites = wanted.length > 0 ? wanted : Object.keys(SUITES);
for (const s of suites) {
  if (!(s in SUITES)) {
    console.error(`unknown suite "${s}"; one of ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
const files = suites.flatMap((s) => SUITES[s].flatMap(testFiles));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--enable-source-maps'].filter(Boolean).join(' ') },
});
process.exit(r.status ?? 1);

// Packages the extension with @vscode/vsce, one .vsix per platform: the model and the bundles are
// the same everywhere, ONNX Runtime's native binaries are not (all five together exceed 60 MB).
//   node scripts/package.mjs                     the platform this runs on
//   node scripts/package.mjs --target win32-x64  one platform
//   node scripts/package.mjs --all               every platform onnxruntime-node ships CPU binaries for
// Each .vsix is listed after packaging and checked against the 60 MB limit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const LIMIT_MB = 60;
const NAPI = 'node_modules/onnxruntime-node/bin/napi-v6';
/** The runtime files of each target, as onnxruntime-node 1.30 lays them out. */
const TARGETS = {
  'linux-x64': ['linux/x64/onnxruntime_binding.node', 'linux/x64/libonnxruntime.so.1'],
  'linux-arm64': ['linux/arm64/onnxruntime_binding.node', 'linux/arm64/libonnxruntime.so.1'],
  'darwin-arm64': ['darwin/arm64/onnxruntime_binding.node', 'darwin/arm64/libonnxruntime.1.dylib'],
  'win32-x64': ['win32/x64/onnxruntime_binding.node', 'win32/x64/onnxruntime.dll'],
  'win32-arm64': ['win32/arm64/onnxruntime_binding.node', 'win32/arm64/onnxruntime.dll'],
};

const args = process.argv.slice(2);
const ti = args.indexOf('--target');
const here = `${process.platform}-${process.arch}`;
const targets = args.includes('--all') ? Object.keys(TARGETS) : [ti >= 0 ? args[ti + 1] : here];
for (const t of targets) {
  if (!TARGETS[t]) {
    console.error(`no ONNX Runtime CPU binaries for "${t}"; targets: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8'));
const base = readFileSync('.vscodeignore', 'utf8');
const block = /# >>> onnxruntime binaries[\s\S]*?# <<< onnxruntime binaries\n?/;
if (!block.test(base)) throw new Error('.vscodeignore lacks the "# >>> onnxruntime binaries" block');
const tmp = mkdtempSync(path.join(tmpdir(), 'diffill-package-'));
const vsce = path.join('node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');

let failed = false;
try {
  for (const target of targets) {
    const ignoreFile = path.join(tmp, `vscodeignore-${target}`);
    const lines = TARGETS[target].map((f) => `!${NAPI}/${f}`).join('\n');
    writeFileSync(ignoreFile, base.replace(block, `# onnxruntime binaries for ${target}\n${lines}\n`));
    const out = `${name}-${version}-${target}.vsix`;
    console.log(`\n[package] ${out}`);
    execFileSync(
      vsce,
      ['package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links'],
      { stdio: 'inherit' },
    );
    const files = execFileSync(vsce, ['ls', '--ignoreFile', ignoreFile], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    const mb = statSync(out).size / 1e6;
    console.log(`[package] ${out}: ${mb.toFixed(1)} MB, ${files.length} files:`);
    for (const f of files) console.log(`  ${f}`);
    if (!files.some((f) => f.startsWith('models/') && f.endsWith('model.onnx'))) {
      console.error('[package] WARNING: no model in the package (models/<name>/model.onnx missing)');
    }
    if (mb > LIMIT_MB) {
      console.error(`[package] ${out} is ${mb.toFixed(1)} MB, over the ${LIMIT_MB} MB limit`);
      failed = true;
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

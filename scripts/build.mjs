// Bundles the extension with esbuild:
//   dist/extension.js  the VS Code client          (external: vscode)
//   dist/server.js     the language server          (external: onnxruntime-node, whose native
//   dist/cli.js        the command line              binding loads from node_modules)
//   out/test/client/   @vscode/test-electron suite  (external: vscode)
// Flags: --production (no source maps), --watch.
import * as esbuild from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  sourcesContent: false,
  minify: production,
  keepNames: true,
  logLevel: 'warning',
  // The CommonJS entry of dual packages (vscode-languageserver, @huggingface/tokenizers).
  mainFields: ['main', 'module'],
  conditions: ['require', 'node'],
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  { ...common, entryPoints: { extension: 'client/src/extension.ts' }, outdir: 'dist', external: ['vscode'] },
  { ...common, entryPoints: { server: 'server/src/server.ts' }, outdir: 'dist', external: ['onnxruntime-node'] },
  {
    ...common,
    entryPoints: { cli: 'server/src/cli.ts' },
    outdir: 'dist',
    external: ['onnxruntime-node'],
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: { index: 'test/client/suite/index.ts' },
    outdir: 'out/test/client/suite',
    external: ['vscode'],
  },
];

if (!watch) rmSync('dist', { recursive: true, force: true });

if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context({ ...b, logLevel: 'info' });
    await ctx.watch();
  }
  console.log('[build] watching for changes');
} else {
  const t0 = performance.now();
  const results = await Promise.allSettled(builds.map((b) => esbuild.build(b)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length > 0) {
    for (const f of failed) console.error(`[build] ${f.reason?.message ?? f.reason}`);
    process.exit(1);
  }
  chmodSync('dist/cli.js', 0o755);
  console.log(`[build] dist/extension.js, dist/server.js, dist/cli.js in ${(performance.now() - t0).toFixed(0)} ms${production ? ' (production)' : ''}`);
}

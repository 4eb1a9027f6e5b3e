// The prelude the engine measurement scripts share: numeric `--name value` options, TypeScript
// sources loaded through tsx, and the model folder (the first bare argument, or the shipped model
// found as the server finds it).
import * as path from 'node:path';
import { createRequire } from 'node:module';

export const root = path.join(import.meta.dirname, '..');
export const require = createRequire(import.meta.url);
require('tsx/cjs');

/** `defaults` maps each option (e.g. '--reps') to its default number. */
export function measureArgs(defaults) {
  const args = process.argv.slice(2);
  const opts = {};
  for (const [name, d] of Object.entries(defaults)) {
    const i = args.indexOf(name);
    opts[name] = i >= 0 ? Number(args[i + 1]) : d;
  }
  const dir =
    args.find((a, i) => !a.startsWith('--') && !(args[i - 1] in defaults)) ??
    require(path.join(root, 'server', 'src', 'engineHost.ts')).findEmbeddedModel(path.join(root, 'models'));
  return { opts, dir };
}

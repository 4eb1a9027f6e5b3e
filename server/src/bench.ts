/**
 * `node dist/cli.js bench --json`: engine figures. Placeholder until the engine issue lands its
 * benchmark here (the lead owns this file's contents).
 */
export async function runBench(_args: string[]): Promise<number> {
  throw new Error('bench: not implemented yet');
}

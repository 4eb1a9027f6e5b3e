/**
 * glibc malloc settings for the language server process (read at start-up, ignored elsewhere): two
 * arenas instead of one per ONNX Runtime thread, and a fixed 4 MiB mmap threshold so the large
 * per-call buffers (logits of a context extension, dequantised weights) go back to the system when
 * freed instead of fragmenting the heap. Measured with `node dist/cli.js bench`: resident memory
 * ~300 -> ~245 MB, same warm latency. Session 6 raised it from 1 MiB: a pass's logits (~1.1 MB)
 * were then mapped and unmapped on every pass, and on a day when page faults were slow that made
 * load 1,310 / 1,351 ms and cold 884 / 745 ms against 844 / 1,147 and 147 / 281 at 4 MiB, with the
 * same resident memory (236-243 MB against 230-243). Values already in the environment win.
 * The client starts the server with them; `bench` and the typing storm use them too.
 */
export function serverMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? '4194304',
  };
}

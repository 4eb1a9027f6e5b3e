/**
 * glibc malloc settings for the language server process (read at start-up, ignored elsewhere): two
 * arenas instead of one per ONNX Runtime thread, and a fixed 1 MiB mmap threshold so the large
 * per-call buffers (logits of a context extension, KV copies, dequantised weights) go back to the
 * system when freed instead of fragmenting the heap. Measured with `node dist/cli.js bench`:
 * resident memory ~300 -> ~245 MB, same warm latency. Values already in the environment win.
 * The client starts the server with them; `bench` and the typing storm use them too.
 */
export function serverMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? '1048576',
  };
}

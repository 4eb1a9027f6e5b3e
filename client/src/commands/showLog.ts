import type { Ctx } from '../ctx';

/** `diffill.showLog`: the output channel the server logs to. */
export function showLog(ctx: Ctx) {
  return (): void => {
    ctx.output.show(true);
  };
}

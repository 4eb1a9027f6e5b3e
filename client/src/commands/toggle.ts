import type { Ctx } from '../ctx';

/** `diffill.toggle`: completions on/off for the user (the status bar shows the result). */
export function toggle(ctx: Ctx) {
  return async (): Promise<void> => {
    await ctx.config.setEnabled(!ctx.config.settings.enable);
  };
}

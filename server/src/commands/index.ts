/** The selection requests: Infill Selection and Refactor Selection (with its confidence view). */
import { InfillSpanRequestMethod, RefactorRequestMethod } from '../protocol';
import { infillSpanHandler } from './infillSpan';
import { refactorHandler } from './refactor';
import type { CommandDeps } from './request';

export type { CommandDeps } from './request';

export function registerSelectionCommands(deps: CommandDeps): void {
  deps.connection.onRequest(InfillSpanRequestMethod, infillSpanHandler(deps));
  deps.connection.onRequest(RefactorRequestMethod, refactorHandler(deps));
}

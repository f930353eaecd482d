import { newReference } from './errors.js';
import type { Logger } from './logger.js';

export interface CrashHandlerOptions {
  logger: Logger;
  /** The normal shutdown path (the one SIGTERM takes), ending the process with this exit code. */
  shutdown(reason: string, exitCode: number): void;
}

/**
 * Last-resort handlers for what no boundary caught. A stray rejection is a bug on one path (one interaction,
 * one job step), not a broken process: it is logged with a reference and the bot keeps serving. An uncaught
 * exception may have left state half-changed, so the bot stops — through the same clean shutdown as SIGTERM
 * (running steps saved, unfinished jobs resume at the next start) — with exit code 1, so a supervisor restarts it.
 */
export function installCrashHandlers(proc: NodeJS.EventEmitter, opts: CrashHandlerOptions): void {
  proc.on('unhandledRejection', (reason: unknown) => {
    opts.logger.error({ err: reason, ref: newReference() }, 'unhandled promise rejection; the bot keeps running');
  });
  proc.on('uncaughtException', (err: Error) => {
    opts.logger.fatal({ err, ref: newReference() }, 'uncaught exception; shutting down');
    opts.shutdown('uncaughtException', 1);
  });
}

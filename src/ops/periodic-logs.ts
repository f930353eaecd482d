import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { JobEngine } from '../jobs/engine.js';
import type { Logger } from '../logger.js';
import { statusLogFields, type OperatorStatus } from './status.js';

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** How often the `health` line (event-loop delay, jobs, Luma limits held to) is logged. */
const HEALTH_LOG_MS = 60_000;

/** The /bot-status figures in the log, for operators who read logs rather than Discord (none when the interval is 0). */
export function startStatusLog(ops: { status(): Promise<OperatorStatus> }, intervalMs: number, logger: Logger): { stop(): void } {
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          ops.status().then(
            (s) => logger.info(statusLogFields(s), 'operator status'),
            (err: unknown) => logger.warn({ err }, 'could not read the operator status'),
          );
        }, intervalMs).unref()
      : undefined;
  return { stop: () => clearInterval(timer) };
}

/**
 * The `health` line every HEALTH_LOG_MS: event-loop delay over the last interval, jobs, memory, Luma limits held
 * to. The delay is measured from inside the bot, where a slow pass of the scheduler or a big synchronous job shows up.
 */
export function startHealthLog(engine: Pick<JobEngine, 'jobStats' | 'budget'>, logger: Logger): { sinceStart(): EventLoopDelay; stop(): void } {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const window = monitorEventLoopDelay({ resolution: 10 });
  window.enable();
  const delay = (h: ReturnType<typeof monitorEventLoopDelay>): EventLoopDelay => ({
    p50Ms: round(h.percentile(50) / 1e6),
    p99Ms: round(h.percentile(99) / 1e6),
    maxMs: round(h.max / 1e6),
  });
  const timer = setInterval(() => {
    logger.info({ eventLoopDelay: delay(window), jobs: engine.jobStats().total, rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20), lumaLimits: engine.budget.limits(Date.now()) }, 'health');
    window.reset();
  }, HEALTH_LOG_MS);
  timer.unref();
  return {
    sinceStart: () => delay(loop),
    stop() {
      clearInterval(timer);
      loop.disable();
      window.disable();
    },
  };
}

function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : 0;
}

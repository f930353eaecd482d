// Entry point: `npm start`. Loads configuration, starts the bot, and shuts down cleanly on SIGTERM/SIGINT.
import { loadConfigOrExit } from './config.js';
import { createLogger } from './logger.js';
import { installCrashHandlers } from './crash-handlers.js';
import { StartupError, startBot } from './main.js';

async function run(): Promise<void> {
  const config = await loadConfigOrExit();
  const logger = createLogger(config);
  // Listening from the start: a SIGTERM while the bot is still starting (an orchestrator replacing it at once)
  // must end in the same clean exit 0, not a kill by signal. Starting then finishes and stops straight away.
  let bot: Awaited<ReturnType<typeof startBot>> | undefined;
  let stopping = false;
  let exitCode = 0;
  const stop = (running: NonNullable<typeof bot>) => {
    running.stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        running.ctx.logger.error({ err }, 'error while shutting down');
        process.exit(exitCode);
      },
    );
  };
  const shutdown = (signal: string, code = 0) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    // Hard deadline: unfinished jobs are stored and resume at the next start, so exiting is always safe.
    setTimeout(() => process.exit(exitCode), 10_000).unref();
    if (!bot) return; // still starting: stopped as soon as it is up
    bot.ctx.logger.info({ signal }, 'shutting down');
    stop(bot);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  installCrashHandlers(process, { logger, shutdown });
  try {
    bot = await startBot(config, { logger });
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(`Cannot start: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  if (stopping) {
    bot.ctx.logger.info('shutting down: a signal came while starting');
    stop(bot);
  }
}

run().catch((err: unknown) => {
  console.error('The bot crashed while starting:', err instanceof Error ? err.message : err);
  process.exit(1);
});

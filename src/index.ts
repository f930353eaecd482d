// Entry point: `npm start`. Loads configuration, starts the bot, and shuts down cleanly on SIGTERM/SIGINT.
import { ConfigError, loadConfigFromEnvironment } from './config.js';
import { StartupError, startBot } from './main.js';

async function run(): Promise<void> {
  let config;
  try {
    config = await loadConfigFromEnvironment();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${err.message}\nSee .env.example for every setting.`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  let bot;
  try {
    bot = await startBot(config);
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(`Cannot start: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    bot.ctx.logger.info({ signal }, 'shutting down');
    // Hard deadline: unfinished jobs are stored and resume at the next start, so exiting is always safe.
    setTimeout(() => process.exit(0), 10_000).unref();
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        bot.ctx.logger.error({ err }, 'error while shutting down');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

run().catch((err: unknown) => {
  console.error('The bot crashed while starting:', err instanceof Error ? err.message : err);
  process.exit(1);
});

// The playground's bot: the commands registered with the real deploy script, as an operator does after install,
// then the real bot process (`src/index.ts`), started through the fakes' world exactly as the tests start it.
import type { FakeLuma } from '../fakes/luma/api.js';
import { spawnBot, type BotChild, type BotLogLine, type World } from '../fakes/world.js';

/** How long the bot may take to log 'bot ready' on a loaded machine. */
const READY_WITHIN_MS = 60_000;

export async function deployCommands(world: World<FakeLuma | undefined>, signal: AbortSignal): Promise<void> {
  const deploy = spawnBot(world, { entry: 'src/deploy-commands.ts' });
  const abort = () => void deploy.kill('SIGTERM');
  signal.addEventListener('abort', abort, { once: true });
  const exit = await deploy.exited;
  signal.removeEventListener('abort', abort);
  signal.throwIfAborted();
  if (exit.code !== 0) throw new Error(`deploy-commands failed (${exit.code ?? exit.signal}):\n${deploy.stray}`);
}

/**
 * Starts the bot and resolves once it is ready; `onLog` sees every line it logs. `started` gets the process as soon
 * as it exists, so a caller stopping during start-up (`signal`) can stop it too.
 */
export async function startBotProcess(
  world: World<FakeLuma | undefined>,
  opts: { onLog: (line: BotLogLine) => void; started: (bot: BotChild) => void; signal: AbortSignal },
): Promise<BotChild> {
  const { onLog, signal } = opts;
  let ready = false;
  const bot = spawnBot(world, {
    keepLines: false,
    onLog: (line) => {
      if (line.msg === 'bot ready') ready = true;
      onLog(line);
    },
  });
  opts.started(bot);
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!ready) {
    signal.throwIfAborted();
    if (!bot.running) {
      const exit = await bot.exited;
      throw new Error(`the bot exited (${exit.code ?? exit.signal}) while starting:\n${bot.stray.trim()}`);
    }
    if (Date.now() > deadline) throw new Error(`the bot did not become ready within ${READY_WITHIN_MS / 1000} s\n${bot.stray}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return bot;
}

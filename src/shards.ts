// `npm run start:shards`: runs the bot as several processes, one discord.js shard each, for large bots.
// Every shard is the ordinary entry point (index.js); they share state through STORAGE_URL, which should then be
// Redis: quotas, the spend cap, job records, the Luma budget and job leases are shared across processes there.
// With SHARDS (and SHARD_COUNT) it runs only those shards: the rest run on other machines, on the same Redis.
import type { ChildProcess } from 'node:child_process';
import { ShardingManager } from 'discord.js';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from './config.js';
import { createLogger } from './logger.js';
import { BOT_NODE_FLAGS } from './node-flags.js';

/** How long the shards get to stop on their own (each has a hard deadline of 10 s) before they are killed. */
const STOP_GRACE_MS = 12_000;

async function main(): Promise<void> {
  const config = await loadConfigOrExit();
  const logger = createLogger(config).child({ component: 'shards' });
  if (config.storageUrl.startsWith('sqlite://')) {
    logger.warn(
      'STORAGE_URL is SQLite: shards on this machine share the file, but only Redis makes quota and spend-cap checks atomic across processes, shares one Luma budget between them (each shard holds to LUMA_MAX_* on its own here) and lets a live shard take over the jobs of one that died',
    );
  }
  const manager = new ShardingManager(fileURLToPath(new URL('./index.js', import.meta.url)), {
    token: config.discordToken,
    totalShards: config.shardCount,
    ...(config.shards ? { shardList: [...config.shards] } : {}),
    respawn: true,
    execArgv: [...BOT_NODE_FLAGS],
  });
  let stopping = false;
  manager.on('shardCreate', (shard) => {
    logger.info({ shard: shard.id }, 'shard started');
    shard.on('death', () => {
      if (!stopping) logger.warn({ shard: shard.id }, 'shard process exited; respawning');
    });
  });

  /**
   * Forwards the signal so each shard saves its jobs and exits cleanly, and exits once every shard process has:
   * no respawn from here on, a shard the manager was still starting is stopped too, and one still running after
   * STOP_GRACE_MS is killed — never a manager gone with its shards left running.
   */
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    manager.respawn = false;
    logger.info({ signal }, 'stopping shards');
    const signalled = new Set<ChildProcess>();
    const running = () => [...manager.shards.values()].flatMap((shard) => (shard.process && shard.process.exitCode === null && shard.process.signalCode === null ? [shard.process] : []));
    const deadline = Date.now() + STOP_GRACE_MS;
    while (running().length > 0 && Date.now() < deadline) {
      for (const child of running()) {
        if (signalled.has(child)) continue;
        signalled.add(child);
        child.kill(signal);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const left = running();
    if (left.length > 0) logger.warn({ shards: left.length }, 'shards still running after the grace period; killing them');
    for (const child of left) child.kill('SIGKILL');
    logger.info('shards stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await manager.spawn().catch((err: unknown) => {
    // A shard stopped while it was starting: the stop takes care of the rest.
    if (!stopping) throw err;
  });
}

main().catch((err: unknown) => {
  console.error('Could not start the shards:', err instanceof Error ? err.message : err);
  process.exit(1);
});

// `npm run start:shards`: runs the bot as several processes, one discord.js shard each, for large bots.
// Every shard is the ordinary entry point (index.js); they share state through STORAGE_URL, which should then be
// Redis: quotas, the spend cap, job records, the Luma budget and job leases are shared across processes there.
import { ShardingManager } from 'discord.js';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from './config.js';
import { createLogger } from './logger.js';
import { BOT_NODE_FLAGS } from './node-flags.js';

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
    respawn: true,
    execArgv: [...BOT_NODE_FLAGS],
  });
  manager.on('shardCreate', (shard) => {
    logger.info({ shard: shard.id }, 'shard started');
    shard.on('death', () => logger.warn({ shard: shard.id }, 'shard process exited; respawning'));
  });
  // Forward stop signals so each shard saves its jobs and exits cleanly.
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping shards');
    for (const shard of manager.shards.values()) shard.process?.kill(signal);
    setTimeout(() => process.exit(0), 12_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await manager.spawn();
}

main().catch((err: unknown) => {
  console.error('Could not start the shards:', err instanceof Error ? err.message : err);
  process.exit(1);
});

// `npm run start:shards` stops when asked: SIGTERM to the manager reaches every shard, none is respawned, and the
// manager exits (code 0) once they have — no shard process is left running. Real processes: the compiled manager
// and its two shards against the fakes.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnBot, startWorld, type World } from '../../dev/fakes/world.js';
import { builtEntry } from '../helpers/built.js';
import { TEST_BOT_ENV } from '../helpers/harness.js';

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run start:shards', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('forwards SIGTERM to every shard, respawns none, and exits once they have', async () => {
    world = await startWorld({ env: { ...TEST_BOT_ENV, LOG_FORMAT: 'json', SHARD_COUNT: '2' }, tempPrefix: 'luma-bot-shards-' });
    const manager = spawnBot(world, { builtEntry: await builtEntry('src/shards.ts') });
    await manager.waitForLog((l) => l.msg === 'bot ready' && l.shard === '1', 60_000, 'shard 1 ready');
    await manager.waitForLog((l) => l.msg === 'bot ready' && l.shard === '0', 60_000, 'shard 0 ready');
    const shards = childrenOf(manager.child.pid ?? 0);
    expect(shards).toHaveLength(2);

    const exit = await manager.kill('SIGTERM', 30_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(shards.filter(alive)).toEqual([]);
    const stopAt = manager.lines.findIndex((l) => l.msg === 'stopping shards');
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(manager.lines.slice(stopAt).filter((l) => l.msg === 'shard started' || l.msg === 'bot ready')).toEqual([]);
    expect(manager.lines.filter((l) => l.msg === 'shutting down')).toHaveLength(2);
  }, 120_000);
});

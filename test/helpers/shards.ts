// Guild ids for tests of several shards: Discord routes a guild's interactions to shard (id >> 22) % count.
import { randomBytes } from 'node:crypto';

/** A guild id Discord routes to shard `shard` of `count`. */
export function guildOnShard(shard: number, count: number): string {
  const base = BigInt(`0x${randomBytes(5).toString('hex')}`) * BigInt(count) + BigInt(shard);
  return String((base << 22n) | BigInt(randomBytes(2).readUInt16BE() & 0x3fffff));
}

import { GuildRecords } from '../storage/guild-records.js';
import type { Storage } from '../storage/index.js';
import { normalizePolicy, type GuildPolicy } from './model.js';

export const policyKey = (guildId: string): string => `guild:policy:${guildId}`;

/** Per-server policies (channels, blocked terms) in storage; every change is a read-modify-write under the server's policy lock. */
export class GuildPolicyStore {
  private readonly records: GuildRecords<GuildPolicy>;

  constructor(storage: Storage) {
    this.records = new GuildRecords(storage, { name: 'policy', key: policyKey, lock: (guildId) => `guild:policy:${guildId}`, normalize: normalizePolicy });
  }

  /** The policy a member's request is checked against; a LostRecordError when it could not be read. */
  get(guildId: string): Promise<GuildPolicy> {
    return this.records.get(guildId);
  }

  /** The policy for an admin: the defaults in place of one that could not be read (`reset`). */
  async forAdmin(guildId: string): Promise<{ policy: GuildPolicy; reset: boolean }> {
    const { value, reset } = await this.records.forAdmin(guildId);
    return { policy: value, reset };
  }

  /**
   * Applies `change` and stores the result; `change` may throw to leave the policy as it was. A policy that could
   * not be read starts again from the defaults (`reset`).
   */
  async update<T>(guildId: string, change: (p: GuildPolicy) => T): Promise<{ policy: GuildPolicy; result: T; reset: boolean }> {
    const { value, result, reset } = await this.records.update(guildId, change);
    return { policy: value, result, reset };
  }
}

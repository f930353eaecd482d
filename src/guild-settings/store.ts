import { GuildRecords } from '../storage/guild-records.js';
import type { Storage } from '../storage/index.js';
import { normalizePolicy, type GuildPolicy } from './model.js';

export const policyKey = (guildId: string): string => `guild:policy:${guildId}`;

/** Per-server policies (channels, blocked terms) in storage; every change is a read-modify-write under the server's policy lock. */
export class GuildPolicyStore {
  private readonly records: GuildRecords<GuildPolicy>;

  constructor(storage: Storage) {
    this.records = new GuildRecords(storage, { key: policyKey, lock: (guildId) => `guild:policy:${guildId}`, normalize: normalizePolicy });
  }

  get(guildId: string): Promise<GuildPolicy> {
    return this.records.get(guildId);
  }

  /** Applies `change` and stores the result; `change` may throw to leave the policy as it was. */
  async update<T>(guildId: string, change: (p: GuildPolicy) => T): Promise<{ policy: GuildPolicy; result: T }> {
    const { value, result } = await this.records.update(guildId, change);
    return { policy: value, result };
  }
}

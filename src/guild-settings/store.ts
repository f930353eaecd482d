import type { Storage } from '../storage/index.js';
import { normalizePolicy, type GuildPolicy } from './model.js';

export const policyKey = (guildId: string): string => `guild:policy:${guildId}`;

/** Per-server policies in storage; every change is a read-modify-write under the server's policy lock. */
export class GuildPolicyStore {
  constructor(private readonly storage: Storage) {}

  async get(guildId: string): Promise<GuildPolicy> {
    return normalizePolicy(await this.storage.get<unknown>(policyKey(guildId)));
  }

  /** Applies `change` and stores the result; `change` may throw to leave the policy as it was. */
  async update<T>(guildId: string, change: (p: GuildPolicy) => T): Promise<{ policy: GuildPolicy; result: T }> {
    return this.storage.withLock(`guild:policy:${guildId}`, async () => {
      const policy = await this.get(guildId);
      const result = change(policy);
      await this.storage.set(policyKey(guildId), policy);
      return { policy, result };
    });
  }
}

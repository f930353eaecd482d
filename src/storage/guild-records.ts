import type { Storage } from './types.js';

/** Where one kind of per-server record lives, and how a stored value is made well-formed. */
export interface GuildRecordKind<T> {
  /** Storage key of a server's record. */
  key(guildId: string): string;
  /** Lock guarding its read-modify-write. */
  lock(guildId: string): string;
  /**
   * The record from what is stored (undefined when nothing is): keeps only well-formed parts, so a hand-edited or
   * older record cannot break every request on a server.
   */
  normalize(raw: unknown): T;
}

/**
 * One record per server (its quota settings, its rules), read as a whole and changed by read-modify-write under
 * the server's lock for that kind. The one store behind every per-server setting.
 */
export class GuildRecords<T> {
  constructor(
    private readonly storage: Storage,
    private readonly kind: GuildRecordKind<T>,
  ) {}

  async get(guildId: string): Promise<T> {
    return this.kind.normalize(await this.storage.get<unknown>(this.kind.key(guildId)));
  }

  /** Applies `change` and stores the result; `change` may throw to leave the record as it was. */
  async update<R>(guildId: string, change: (value: T) => R): Promise<{ value: T; result: R }> {
    return this.storage.withLock(this.kind.lock(guildId), async () => {
      const value = await this.get(guildId);
      const result = change(value);
      await this.storage.set(this.kind.key(guildId), value);
      return { value, result };
    });
  }
}

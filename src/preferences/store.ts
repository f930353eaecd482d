import { GuildRecords } from '../storage/guild-records.js';
import type { Storage } from '../storage/index.js';
import { normalizeDefaults, normalizeServerSettings, type ImageDefaults, type ServerImageSettings } from './model.js';

const memberKey = (userId: string): string => `prefs:member:${userId}`;
export const serverImagesKey = (guildId: string): string => `guild:images:${guildId}`;

/**
 * Members' own defaults (/settings, `prefs:member:<id>`, the same wherever they use the bot) and each server's
 * defaults and limits (`guild:images:<id>`, one per-server record). Every change is a read-modify-write under its lock.
 */
export class Preferences {
  private readonly servers: GuildRecords<ServerImageSettings>;

  constructor(private readonly storage: Storage) {
    this.servers = new GuildRecords(storage, { key: serverImagesKey, lock: (guildId) => `guild:images:${guildId}`, normalize: normalizeServerSettings });
  }

  async member(userId: string): Promise<ImageDefaults> {
    return normalizeDefaults(await this.storage.get<unknown>(memberKey(userId)));
  }

  /** Applies `change` to the member's defaults and stores them; returns them as stored. */
  async updateMember(userId: string, change: (d: ImageDefaults) => ImageDefaults | void): Promise<ImageDefaults> {
    return this.storage.withLock(memberKey(userId), async () => {
      const current = await this.member(userId);
      const next = normalizeDefaults(change(current) ?? current);
      await this.storage.set(memberKey(userId), next);
      return next;
    });
  }

  server(guildId: string): Promise<ServerImageSettings> {
    return this.servers.get(guildId);
  }

  /** Applies `change` to the server's settings and stores them; `change` may throw to leave them as they were. */
  async updateServer(guildId: string, change: (s: ServerImageSettings) => void): Promise<ServerImageSettings> {
    return (await this.servers.update(guildId, (s) => {
      change(s);
      s.defaults = normalizeDefaults(s.defaults);
    })).value;
  }
}

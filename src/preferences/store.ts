import { GuildRecords } from '../storage/guild-records.js';
import { readValue, Unreadable, type Storage } from '../storage/index.js';
import { normalizeDefaults, normalizeServerSettings, type ImageDefaults, type ServerImageSettings } from './model.js';

/** A stored value, or nothing in place of one that does not parse. */
const readable = (v: unknown): unknown => (v instanceof Unreadable ? undefined : v);

const memberKey = (userId: string): string => `prefs:member:${userId}`;
export const serverImagesKey = (guildId: string): string => `guild:images:${guildId}`;

/**
 * Members' own defaults (/settings, `prefs:member:<id>`, the same wherever they use the bot) and each server's
 * defaults and limits (`guild:images:<id>`, one per-server record). Every change is a read-modify-write under its lock.
 */
export class Preferences {
  private readonly servers: GuildRecords<ServerImageSettings>;

  constructor(private readonly storage: Storage) {
    this.servers = new GuildRecords(storage, { name: 'serverImages', key: serverImagesKey, lock: (guildId) => `guild:images:${guildId}`, normalize: normalizeServerSettings });
  }

  /** A member's defaults; ones that could not be read count as none (they only fill in what the member left out). */
  async member(userId: string): Promise<ImageDefaults> {
    return normalizeDefaults(readable(await readValue(this.storage, memberKey(userId))));
  }

  /** Applies `change` to the member's defaults and stores them, atomically; returns them as stored. */
  async updateMember(userId: string, change: (d: ImageDefaults) => ImageDefaults | void): Promise<ImageDefaults> {
    const key = memberKey(userId);
    return this.storage.withLock(key, () =>
      this.storage.atomic([key], ([v]) => {
        const current = normalizeDefaults(readable(v));
        const next = normalizeDefaults(change(current) ?? current);
        return { writes: [{ key, value: next }], result: next };
      }),
    );
  }

  /** The server's defaults and limits a member's request goes by; a LostRecordError when they could not be read. */
  server(guildId: string): Promise<ServerImageSettings> {
    return this.servers.get(guildId);
  }

  /** The server's settings for an admin: the defaults in place of settings that could not be read (`reset`). */
  async serverForAdmin(guildId: string): Promise<{ settings: ServerImageSettings; reset: boolean }> {
    const { value, reset } = await this.servers.forAdmin(guildId);
    return { settings: value, reset };
  }

  /**
   * Applies `change` to the server's settings and stores them; `change` may throw to leave them as they were.
   * Settings that could not be read start again from the defaults (`reset`).
   */
  async updateServer(guildId: string, change: (s: ServerImageSettings) => void): Promise<{ settings: ServerImageSettings; reset: boolean }> {
    const { value, reset } = await this.servers.update(guildId, (s) => {
      change(s);
      s.defaults = normalizeDefaults(s.defaults);
    });
    return { settings: value, reset };
  }
}

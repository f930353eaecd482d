import { GuildRecords } from '../storage/guild-records.js';
import type { Storage } from '../storage/index.js';
import { emptySettings, type GuildQuotaSettings, type Limit } from './model.js';
import { isPeriod } from './periods.js';

export const settingsKey = (guildId: string): string => `quota:guild:${guildId}`;

function isLimit(v: unknown): v is Limit {
  return v === 'unlimited' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

/** Keeps only well-formed entries, so a hand-edited or older record cannot break every reservation on a server. */
function normalize(raw: unknown): GuildQuotaSettings {
  const s = emptySettings();
  if (typeof raw !== 'object' || raw === null) return s;
  const r = raw as Record<string, unknown>;
  if (typeof r.defaultLimit === 'number' && isLimit(r.defaultLimit)) s.defaultLimit = r.defaultLimit;
  if (isPeriod(r.period)) s.period = r.period;
  if (typeof r.serverTotal === 'number' && isLimit(r.serverTotal)) s.serverTotal = r.serverTotal;
  for (const [field, target] of [['roles', s.roles], ['users', s.users]] as const) {
    const map = r[field];
    if (typeof map !== 'object' || map === null) continue;
    for (const [id, limit] of Object.entries(map as Record<string, unknown>)) if (/^\d{1,20}$/.test(id) && isLimit(limit)) target[id] = limit;
  }
  return s;
}

/** Per-server settings in storage. Every change is a read-modify-write under the server's settings lock. */
export class QuotaSettingsStore {
  private readonly records: GuildRecords<GuildQuotaSettings>;

  constructor(storage: Storage) {
    this.records = new GuildRecords(storage, { name: 'quotaSettings', key: settingsKey, lock: (guildId) => `quota:settings:${guildId}`, normalize });
  }

  /** The settings a member's request is checked against; a LostRecordError when they could not be read. */
  get(guildId: string): Promise<GuildQuotaSettings> {
    return this.records.get(guildId);
  }

  /** The settings for an admin: the defaults in place of settings that could not be read (`reset`). */
  async forAdmin(guildId: string): Promise<{ settings: GuildQuotaSettings; reset: boolean }> {
    const { value, reset } = await this.records.forAdmin(guildId);
    return { settings: value, reset };
  }

  /**
   * Applies `change` to the current settings and stores the result; `change` may throw to leave them as they were.
   * Settings that could not be read start again from the defaults (`reset`).
   */
  async update(guildId: string, change: (s: GuildQuotaSettings) => void): Promise<{ settings: GuildQuotaSettings; reset: boolean }> {
    const { value, reset } = await this.records.update(guildId, change);
    return { settings: value, reset };
  }
}

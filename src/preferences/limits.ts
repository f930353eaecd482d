import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { Model } from '../luma/types.js';
import type { Preferences } from './store.js';

/**
 * What a server lets its members ask for where its own install (and quota) is used: uni-1-max or not, and how many
 * images at once. Checked at intake before anything is reserved, so a refusal costs nothing. A member's own install
 * in a server (their personal quota pays) is not held to them.
 */
export class ServerLimits {
  constructor(private readonly prefs: Pick<Preferences, 'server'>) {}

  async check(guildId: string | null, ask: { model: Model; count: number; userInstalled: boolean }, locale: string | undefined): Promise<void> {
    if (guildId === null || ask.userInstalled) return;
    const settings = await this.prefs.server(guildId);
    if (ask.model === 'uni-1-max' && !settings.allowMax) {
      throw new UserFacingError(t(locale, 'limits.refuse.max'), { code: 'limit_max' });
    }
    if (ask.count > settings.maxCount) {
      throw new UserFacingError(t(locale, 'limits.refuse.count', { count: ask.count, max: settings.maxCount }), { code: 'limit_count' });
    }
  }
}

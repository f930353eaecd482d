import type { RepliableInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { ImageDefaults } from '../preferences/model.js';
import { StorageError } from '../storage/index.js';
import { isUserInstalledHere } from './start-job.js';

/**
 * How long the deferral may wait for the member's settings. It must reach Discord within 3 s of the interaction's
 * creation, so the wait ends 1.8 s after it (leaving time for the deferral to travel), however late the handler
 * started; at least 0.2 s, at most 1.8 s, so a clock that disagrees with Discord's only moves it within those bounds.
 */
export function settingsWaitMs(createdAt: number, now: number): number {
  const ANSWER_BY_MS = 1800;
  return Math.min(ANSWER_BY_MS, Math.max(200, createdAt + ANSWER_BY_MS - now));
}

/** The defaults a request of this member, here, falls back on: their own, then the server's. */
export interface Defaults {
  member: ImageDefaults;
  server: ImageDefaults;
}

/** The member's and (where the server's install is used) the server's defaults. */
export async function readDefaults(interaction: RepliableInteraction, ctx: Pick<BotContext, 'preferences'>): Promise<Defaults> {
  const guildId = interaction.guildId;
  const [member, server] = await Promise.all([
    ctx.preferences.member(interaction.user.id),
    guildId !== null && !isUserInstalledHere(interaction) ? ctx.preferences.server(guildId).then((s) => s.defaults) : Promise.resolve({}),
  ]);
  return { member, server };
}

/**
 * Defers the reply of a request that makes an image, publicly or — when the member's settings (else the server's)
 * say results are private — seen by them alone. Whether a deferral is private is fixed when it is sent, and it must
 * be sent within Discord's 3 s: the settings are waited for until 1.8 s after the interaction was made
 * (settingsWaitMs); when they take longer the reply is deferred privately (a member who chose private results is
 * never shown in public by a slow read) and the rest of the settings still apply. Returns the defaults; a storage
 * failure is refused ("try again shortly"), nothing charged.
 */
export async function deferForMember(interaction: RepliableInteraction, ctx: Pick<BotContext, 'preferences' | 'acks' | 'clock' | 'logger'>): Promise<Defaults> {
  const reading = readDefaults(interaction, ctx);
  let timer: ReturnType<BotContext['clock']['setTimeout']> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = ctx.clock.setTimeout(() => resolve('late'), settingsWaitMs(interaction.createdTimestamp, ctx.clock.now()))));
  const first = await Promise.race([reading.catch(() => 'failed' as const), late]);
  ctx.clock.clearTimeout(timer);
  const visibility = typeof first === 'object' ? (first.member.visibility ?? first.server.visibility ?? 'public') : 'private';
  if (first === 'late') ctx.logger.warn({ userId: interaction.user.id }, 'member settings were slow to read: the reply is deferred privately');
  await ctx.acks.defer(interaction, { ephemeral: visibility === 'private' });
  try {
    return await reading;
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    ctx.logger.warn({ err, userId: interaction.user.id }, 'could not read the member’s settings: request refused, nothing charged');
    throw new UserFacingError(t(interaction.locale, 'refuse.storage'), { code: 'storage_unavailable' });
  }
}

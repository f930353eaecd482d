import { isObj } from './schema.js';

/**
 * Brings a record written by an earlier version to today's shape, in place; returns whether it changed anything.
 * Records before the delivery port kept who asked and how to answer them in one `discord` object: who and where
 * become `requester`, and the rest — with the reply facts that lived beside it (`originalUploadTried`, the progress
 * text last shown) — the opaque `replyTo` route, which the delivery side reads.
 */
export function upgradeRecord(value: unknown): boolean {
  if (!isObj(value) || value.requester !== undefined || !isObj(value.discord)) return false;
  const { userId, guildId, channelId, userInstalled, locale, guildLocale, ...route } = value.discord;
  value.requester = {
    userId,
    guildId,
    channelId,
    userInstalled,
    ...(locale !== undefined ? { locale } : {}),
    ...(guildLocale !== undefined ? { placeLocale: guildLocale } : {}),
  };
  const progress = isObj(value.progress) ? value.progress : {};
  value.replyTo = {
    ...route,
    ...(value.originalUploadTried === true ? { uploadTried: true } : {}),
    ...(typeof progress.text === 'string' ? { shown: progress.text } : {}),
  };
  value.progress = typeof progress.editedAt === 'number' ? { editedAt: progress.editedAt } : {};
  delete value.discord;
  delete value.originalUploadTried;
  return true;
}

import { randomBytes } from 'node:crypto';
import { t } from './i18n/index.js';
import { LostRecordError, StorageError } from './storage/index.js';

/**
 * An error whose message is meant for the member who caused it (bad input, quota, moderation). The text is
 * shown as is; anything else is logged and shown as an apology with a reference id.
 */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly options: {
      code?: string;
      /** SKUs of premium tiers that would lift this refusal: the Discord side shows each as a Premium button. */
      offers?: readonly string[];
    } = {},
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}

/** A short id a member can quote and an operator can grep for (`ref` in the logs). */
export function newReference(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}

/** The answer to an unexpected error, in the member's language (`locale`: their Discord locale). */
export function apology(ref: string, locale?: string | null): string {
  return t(locale, 'errors.apology', { ref });
}

/**
 * What a member is told when storage failed their command: a record that could not be read (moved aside; what it
 * guarded is refused, nothing charged), or storage not answering (try again shortly). Undefined for other errors.
 */
export function storageRefusal(err: unknown, locale?: string | null): UserFacingError | undefined {
  if (err instanceof LostRecordError) {
    const key = err.record === 'quotaCounter' ? 'refuse.countersLost' : err.record === 'memberHistory' ? 'refuse.historyLost' : 'refuse.recordLost';
    return new UserFacingError(t(locale, key), { code: 'record_unreadable' });
  }
  if (err instanceof StorageError) return new UserFacingError(t(locale, 'errors.storage'), { code: 'storage_unavailable' });
  return undefined;
}

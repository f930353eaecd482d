// The checks of `/quota-admin`'s options that Discord's own option types cannot express: ids, limits within bounds,
// a limit or `unlimited` (exactly one), a period. Each refusal is a UserFacingError in the admin's language.
import type { Locale } from 'discord.js';
import { isSnowflake } from '../src/discord/snowflake.js';
import { truncate } from '../src/discord/render.js';
import { UserFacingError } from '../src/errors.js';
import { languageOf, t } from '../src/i18n/index.js';
import { limitProblem, MAX_LIMIT, MIN_LIMIT, type Limit } from '../src/quota/model.js';
import { isPeriod, PERIODS, type Period } from '../src/quota/periods.js';

/** A role or user option's id; only the id is needed, so the resolved role or user is not required. */
export function snowflakeOf(locale: Locale, value: string, kind: 'role' | 'user'): string {
  if (!isSnowflake(value)) throw new UserFacingError(t(locale, kind === 'role' ? 'qa.input.notRole' : 'qa.input.notMember'), { code: 'bad_option' });
  return value;
}

/** A limit given as a number: a whole number within bounds. */
export function wholeLimit(locale: Locale, value: number): number {
  if (limitProblem(value) !== undefined) {
    const nf = new Intl.NumberFormat(languageOf(locale));
    throw new UserFacingError(t(locale, 'qa.input.range', { min: nf.format(MIN_LIMIT), max: nf.format(MAX_LIMIT), got: value }), { code: 'bad_option' });
  }
  return value;
}

/** The `limit` / `unlimited` pair: exactly one of them. */
export function limitOrUnlimited(locale: Locale, value: number | null, unlimited: boolean | null): Limit {
  if (unlimited === true && value !== null) throw new UserFacingError(t(locale, 'qa.input.both'), { code: 'bad_option' });
  if (unlimited === true) return 'unlimited';
  if (value === null) throw new UserFacingError(t(locale, 'qa.input.limitOrUnlimited'), { code: 'bad_option' });
  return wholeLimit(locale, value);
}

/** A period option, when given. */
export function periodOf(locale: Locale, raw: string | null): Period | undefined {
  if (raw === null) return undefined;
  if (!isPeriod(raw)) throw new UserFacingError(t(locale, 'qa.input.period', { list: PERIODS.join(', '), got: truncate(raw, 20) }), { code: 'bad_option' });
  return raw;
}

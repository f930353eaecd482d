import type { Period } from './periods.js';

import { MAX_LIMIT, type Limit } from '../config-values.js';

/** A number of units per period, or no per-member limit at all (the operator sets one too: config-values.ts). */
export { MAX_LIMIT, type Limit } from '../config-values.js';

/** Whole numbers admins and the operator may set, both ends included (up to MAX_LIMIT). */
export const MIN_LIMIT = 0;
/** Bounds on one server's record: Discord has at most 250 roles; overrides are for exceptions, not a member list. */
export const MAX_ROLE_LIMITS = 250;
export const MAX_USER_OVERRIDES = 1000;

/**
 * One server's quota settings (`quota:guild:<id>`). Everything is optional: what is absent falls back to the
 * operator's defaults (QUOTA_DEFAULT_LIMIT / QUOTA_DEFAULT_PERIOD). The period is the server's one period: its
 * default, role limits, overrides and the server total all count over it.
 */
export interface GuildQuotaSettings {
  v: 1;
  defaultLimit?: number;
  period?: Period;
  /** Role id → limit. A member with several of these roles gets the most generous. */
  roles: Record<string, Limit>;
  /** User id → limit; beats roles and the default. */
  users: Record<string, Limit>;
  /** Units the whole server may use per period, whoever uses them (unlimited members included). */
  serverTotal?: number;
}

export function emptySettings(): GuildQuotaSettings {
  return { v: 1, roles: {}, users: {} };
}

/** Where a member's allowance comes from, for /quota and refusals. */
export type LimitSource =
  | { kind: 'user' }
  | { kind: 'role'; roleId: string }
  | { kind: 'default'; configured: boolean }
  | { kind: 'personal' };

export interface Allowance {
  /** Units per period, premium tiers' extra included. */
  limit: Limit;
  period: Period;
  source: LimitSource;
  /** Units per period the member's own tier and the server's tier add to it (premium.ts). */
  extra?: { user?: number; guild?: number };
}

/** True when `a` lets a member make more images than `b`. */
export function moreGenerous(a: Limit, b: Limit): boolean {
  if (a === 'unlimited') return b !== 'unlimited';
  if (b === 'unlimited') return false;
  return a > b;
}

/**
 * A member's allowance on a server: their override if they have one; else the most generous limit among their
 * roles that have one; else the server's default (or the operator's when the server set none). Role limits
 * replace the default rather than add to it, so a role may also restrict (e.g. 0 for a "no images" role).
 * `roleIds` should include the guild id: that is the @everyone role, which the API leaves out of a member's roles.
 */
export function resolveAllowance(
  settings: GuildQuotaSettings,
  userId: string,
  roleIds: readonly string[],
  fallback: { limit: Limit; period: Period },
): Allowance {
  const period = settings.period ?? fallback.period;
  const override = settings.users[userId];
  if (override !== undefined) return { limit: override, period, source: { kind: 'user' } };
  let best: { limit: Limit; roleId: string } | undefined;
  for (const roleId of roleIds) {
    const limit = settings.roles[roleId];
    if (limit === undefined) continue;
    if (!best || moreGenerous(limit, best.limit)) best = { limit, roleId };
  }
  if (best) return { limit: best.limit, period, source: { kind: 'role', roleId: best.roleId } };
  if (settings.defaultLimit !== undefined) return { limit: settings.defaultLimit, period, source: { kind: 'default', configured: true } };
  return { limit: fallback.limit, period, source: { kind: 'default', configured: false } };
}

/** Checks a limit an admin typed; returns an error sentence or undefined. */
export function limitProblem(value: number, what = 'The limit'): string | undefined {
  if (!Number.isSafeInteger(value) || value < MIN_LIMIT || value > MAX_LIMIT) {
    return `${what} must be a whole number from ${MIN_LIMIT} to ${MAX_LIMIT.toLocaleString('en-US')} (got ${value}).`;
  }
  return undefined;
}

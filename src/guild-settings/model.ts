import { foldText, MAX_TERM_LENGTH, MAX_TERMS, TermMatcher } from './terms.js';

/** At most this many allowed channels per server. */
export const MAX_CHANNELS = 50;

/**
 * Where and how a server lets its members use the bot (`guild:policy:<id>`): an allow list of channels (empty
 * means everywhere), whether threads follow their channel, whether only age-restricted channels may be used,
 * and the terms refused in prompts.
 */
export interface GuildPolicy {
  v: 1;
  channels: string[];
  threadsInherit: boolean;
  requireAgeRestricted: boolean;
  blockedTerms: string[];
}

export function defaultPolicy(): GuildPolicy {
  return { v: 1, channels: [], threadsInherit: true, requireAgeRestricted: false, blockedTerms: [] };
}

/** Keeps only well-formed entries within the bounds, so a bad record cannot break every request on a server. */
export function normalizePolicy(raw: unknown): GuildPolicy {
  const p = defaultPolicy();
  if (typeof raw !== 'object' || raw === null) return p;
  const r = raw as Record<string, unknown>;
  if (Array.isArray(r.channels)) p.channels = [...new Set(r.channels.filter((c): c is string => typeof c === 'string' && /^\d{1,20}$/.test(c)))].slice(0, MAX_CHANNELS);
  if (typeof r.threadsInherit === 'boolean') p.threadsInherit = r.threadsInherit;
  if (typeof r.requireAgeRestricted === 'boolean') p.requireAgeRestricted = r.requireAgeRestricted;
  if (Array.isArray(r.blockedTerms)) {
    p.blockedTerms = r.blockedTerms
      .filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= MAX_TERM_LENGTH && foldText(t) !== '')
      .slice(0, MAX_TERMS);
  }
  return p;
}

/** Where a request was made, as far as the policy cares. */
export interface Place {
  channelId: string | null;
  /** For a thread: its parent channel. */
  parentId: string | null;
  isThread: boolean;
  /** Age-restricted ("NSFW") channel; for a thread, its parent's flag. */
  ageRestricted: boolean;
}

export type Refusal =
  | { kind: 'channel'; allowed: readonly string[] }
  | { kind: 'thread'; allowed: readonly string[] }
  | { kind: 'age'; allowed: readonly string[] }
  | { kind: 'term'; term: string };

/**
 * Why the server does not want this request here, or undefined when it may go ahead. `terms` is the policy's blocked
 * terms compiled (`TermMatchers` keeps them from one check to the next).
 */
export function refusalFor(policy: GuildPolicy, place: Place, prompt: string, terms = new TermMatcher(policy.blockedTerms)): Refusal | undefined {
  const allowed = policy.channels;
  if (place.isThread && !policy.threadsInherit) return { kind: 'thread', allowed };
  if (allowed.length > 0) {
    const channel = place.isThread ? place.parentId : place.channelId;
    if (channel === null || !allowed.includes(channel)) return { kind: 'channel', allowed };
  }
  if (policy.requireAgeRestricted && !place.ageRestricted) return { kind: 'age', allowed };
  const term = terms.find(prompt);
  if (term !== undefined) return { kind: 'term', term };
  return undefined;
}

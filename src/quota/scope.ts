// Whose quota applies, and the storage keys and lock names of its counters.

/** Whose settings and counters apply: a server's, or the member's own for DMs and user-installed use. */
export type QuotaScope = { kind: 'guild'; guildId: string } | { kind: 'personal' };

export function scopeOf(guildId: string | null, userInstalled: boolean): QuotaScope {
  // A user-installed bot is the member's, not the server's: the server's admins did not add it, so their
  // settings do not apply and the DM / personal default does.
  return guildId !== null && !userInstalled ? { kind: 'guild', guildId } : { kind: 'personal' };
}

export const scopeId = (s: QuotaScope): string => (s.kind === 'guild' ? `guild:${s.guildId}` : 'dm');

export const quotaKeys = {
  usage: (scope: QuotaScope, userId: string, pKey: string) => `quota:use:${scopeId(scope)}:${userId}:${pKey}`,
  serverTotal: (guildId: string, pKey: string) => `quota:total:${guildId}:${pKey}`,
  spend: (day: string) => `quota:spend:${day}`,
  /** One server's spend of a UTC day (`dm` for DMs and user-installed use together), ten-thousandths of a dollar. */
  placeSpend: (place: string, day: string) => `quota:place-spend:${place}:${day}`,
  refunded: (jobId: string) => `quota:refunded:${jobId}`,
};

/** The place a server's spend is counted under: its id, or `dm` for DMs and user-installed use together. */
export const placeOf = (s: QuotaScope): string => (s.kind === 'guild' ? s.guildId : 'dm');

/*
 * Locks are always taken in this order — member, member's credits, server total, the server's spend, the operator's
 * spend — and released in reverse, so two reservations (or a reservation and a refund) can never wait on each other
 * in a cycle.
 */
export const quotaLocks = {
  user: (scope: QuotaScope, userId: string) => `quota:user:${scopeId(scope)}:${userId}`,
  total: (guildId: string) => `quota:total:${guildId}`,
  placeSpend: (place: string) => `quota:place-spend:${place}`,
  spend: 'quota:spend',
};

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
  refunded: (jobId: string) => `quota:refunded:${jobId}`,
};

/*
 * Locks are always taken in this order — member, then server total, then the operator's spend — and released in
 * reverse, so two reservations (or a reservation and a refund) can never wait on each other in a cycle.
 */
export const quotaLocks = {
  user: (scope: QuotaScope, userId: string) => `quota:user:${scopeId(scope)}:${userId}`,
  total: (guildId: string) => `quota:total:${guildId}`,
  spend: 'quota:spend',
};

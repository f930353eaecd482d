import type { DispatchedInteraction, FakeDiscord, RecordedCallback } from '../../dev/fakes/discord/server.js';

const EPHEMERAL = 64;

/**
 * The text of whatever the bot answered privately to an interaction — an ephemeral reply, an ephemeral deferral
 * edited, or an ephemeral followup — or undefined while there is none.
 */
export function privateAnswer(discord: FakeDiscord, i: Pick<DispatchedInteraction, 'id' | 'token'>): string | undefined {
  const cb = discord.callbacks(i.id)[0] as (RecordedCallback & { data?: { content?: string; flags?: number } }) | undefined;
  if (cb?.type === 4 && ((cb.data?.flags ?? 0) & EPHEMERAL) !== 0) return cb.data?.content;
  const followup = discord.followups(i.token).find((m) => ((m.flags ?? 0) & EPHEMERAL) !== 0);
  if (followup) return followup.content;
  const original = discord.original(i.token);
  if (original && ((original.flags ?? 0) & EPHEMERAL) !== 0 && original.content !== '') return original.content;
  return undefined;
}

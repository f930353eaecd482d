import { GuildMember, type BaseInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import type { Place } from '../guild-settings/model.js';
import type { JobSpec } from '../jobs/create.js';
import type { JobRecord, JobRequester } from '../jobs/types.js';
import { purchasesOf } from './premium.js';
import { interactionRoute } from './route.js';

/**
 * Whether the bot runs here as the member's own app in a server that did not install it: then the server's
 * settings do not apply and the member's personal quota does.
 */
export function isUserInstalledHere(interaction: BaseInteraction): boolean {
  return interaction.guildId !== null && interaction.authorizingIntegrationOwners.guildId === null;
}

/** Who asked, and where, in the core's words. */
export function requesterOf(interaction: BaseInteraction): JobRequester {
  return {
    userId: interaction.user.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    userInstalled: isUserInstalledHere(interaction),
    locale: interaction.locale,
    placeLocale: interaction.guildLocale,
  };
}

/** The member's role ids in the server (empty in DMs). */
export function roleIdsOf(interaction: BaseInteraction): string[] {
  const member = interaction.member;
  if (member instanceof GuildMember) return [...member.roles.cache.keys()];
  if (member && Array.isArray(member.roles)) return member.roles;
  return [];
}

/** Where an interaction happened: the channel, or for a thread its parent, and whether it is age-restricted. */
export function placeOf(interaction: BaseInteraction): Place {
  const ch = interaction.channel;
  if (ch?.isThread()) {
    // Without the gateway (INTERACTIONS=http) the server is not cached: the parent is found among the channels.
    const parent = ch.guild ? ch.parent : ch.parentId ? interaction.client.channels.cache.get(ch.parentId) : null;
    return { channelId: ch.id, parentId: ch.parentId, isThread: true, ageRestricted: parent && 'nsfw' in parent ? parent.nsfw : false };
  }
  const nsfw = ch !== null && 'nsfw' in ch ? ch.nsfw : false;
  return { channelId: interaction.channelId, parentId: null, isThread: false, ageRestricted: nsfw };
}

/**
 * The shared tail of every command that makes an image: the interaction as a plain request to the core's intake
 * (src/jobs/intake.ts), which checks, charges, stores and queues it — or refuses with a UserFacingError. The caller
 * has already deferred; the engine takes over the reply. It starts once no other interaction waits for its
 * acknowledgement (at most 2 s later): in a burst, the acknowledgements go first.
 */
export async function startJob(interaction: BaseInteraction, ctx: BotContext, spec: JobSpec, opts: StartOptions = {}): Promise<JobRecord[]> {
  ctx.acks.settled(interaction.id);
  await ctx.acks.idle();
  return ctx.intake.accept({
    spec,
    requester: requesterOf(interaction),
    roleIds: roleIdsOf(interaction),
    place: placeOf(interaction),
    replyTo: { ...interactionRoute(interaction) },
    purchases: purchasesOf(interaction),
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    ...(opts.precheck ? { precheck: opts.precheck } : {}),
  });
}

export interface StartOptions {
  /** Images to make (1–4; default 1). */
  count?: number;
  /** Checks that cost downloads, run once the quota said yes (intake.ts IntakeRequest.precheck). */
  precheck?: () => Promise<void>;
}

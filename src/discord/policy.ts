import type { BaseInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError } from '../errors.js';
import { refusalFor, type Place } from '../guild-settings/model.js';
import { refusalText } from '../guild-settings/render.js';
import { GuildPolicyStore } from '../guild-settings/store.js';
import type { JobSpec } from '../jobs/create.js';

/** Where an interaction happened: the channel, or for a thread its parent, and whether it is age-restricted. */
export function placeOf(interaction: BaseInteraction): Place {
  const ch = interaction.channel;
  if (ch?.isThread()) return { channelId: ch.id, parentId: ch.parentId, isThread: true, ageRestricted: ch.parent?.nsfw ?? false };
  const nsfw = ch !== null && 'nsfw' in ch ? ch.nsfw : false;
  return { channelId: interaction.channelId, parentId: null, isThread: false, ageRestricted: nsfw };
}

/**
 * The server's rules for where the bot may be used and which words it refuses. Runs before quota is reserved
 * and before anything goes to Luma, so a refusal costs nothing; the text is private and in the member's
 * language. Applies wherever a server is involved, whoever installed the bot: a member's own install does not
 * bypass the server's rules in its channels.
 */
export async function enforceGuildPolicy(interaction: BaseInteraction, ctx: BotContext, spec: JobSpec): Promise<void> {
  if (interaction.guildId === null) return;
  const policy = await new GuildPolicyStore(ctx.storage).get(interaction.guildId);
  const refusal = refusalFor(policy, placeOf(interaction), spec.request.prompt);
  if (refusal) throw new UserFacingError(refusalText(interaction.locale, refusal), { code: `policy_${refusal.kind}` });
}

import { ApplicationCommandType, ApplicationIntegrationType, InteractionContextType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { purchasesOf } from '../src/discord/premium.js';
import { isUserInstalledHere, roleIdsOf } from '../src/discord/start-job.js';
import { english } from '../src/i18n/commands.js';
import { renderStatus } from '../src/quota/render.js';

const data = {
  type: ApplicationCommandType.ChatInput,
  name: english('cmd.quota.name'),
  description: english('cmd.quota.description'),
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** `/quota`: a member's own allowance (premium tiers and credits included), use and reset time. Private, and available wherever /imagine is. */
export const quota: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    const service = ctx.quota;
    await ctx.acks.defer(interaction, { ephemeral: true });
    const status = await service.status({
      userId: interaction.user.id,
      guildId: interaction.guildId,
      roleIds: roleIdsOf(interaction),
      userInstalled: isUserInstalledHere(interaction),
      locale: interaction.locale,
      purchases: purchasesOf(interaction),
    });
    await interaction.editReply({ content: renderStatus(interaction.locale, status), allowedMentions: { parse: [] } });
  },
};

import { ApplicationCommandType, ApplicationIntegrationType, InteractionContextType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { requireOperator } from '../src/discord/operator.js';
import { english } from '../src/i18n/commands.js';
import { renderOperatorStatus } from '../src/ops/status.js';

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'bot-status',
  description: english('cmd.bot-status.description'),
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
  integration_types: [ApplicationIntegrationType.GuildInstall],
  default_member_permissions: '0',
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/**
 * `/bot-status`: the operator's figures — today's spend against the cap, the queue, the Luma limits in force, the
 * failures of the last hour, spend by server and premium sold — without a dashboard. Only for the application's
 * owner (every accepted member of its team, when a team owns it) and the users in OPERATOR_USER_IDS; everyone else is
 * refused. Hidden by default outside DMs (`default_member_permissions: 0`), but the check (src/discord/operator.ts)
 * is what counts, since server admins can change who sees a command.
 */
export const botStatus: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    await requireOperator(interaction, ctx);
    const status = await ctx.ops.status();
    const nameOf = (guildId: string) => interaction.client.guilds.cache.get(guildId)?.name;
    await interaction.editReply({ content: renderOperatorStatus(status, nameOf), allowedMentions: { parse: [] } });
  },
};

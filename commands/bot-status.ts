import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  Team,
  TeamMemberMembershipState,
  type BaseInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';
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
 * `/bot-status`: the operator's figures — today's spend against the cap, the queue, the Luma limits in force and
 * the failures of the last hour — without a dashboard. Only for the application's owner (every accepted member of
 * its team, when a team owns it) and the users in OPERATOR_USER_IDS; everyone else is refused. Hidden by default
 * outside DMs (`default_member_permissions: 0`), but the check below is what counts, since server admins can
 * change who sees a command.
 */
export const botStatus: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    await ctx.acks.defer(interaction, { ephemeral: true });
    if (!(await isOperator(interaction, ctx.config.operatorUserIds))) {
      throw new UserFacingError(t(interaction.locale, 'refuse.notOperator'), { code: 'not_operator' });
    }
    const status = await ctx.ops.status();
    await interaction.editReply({ content: renderOperatorStatus(status), allowedMentions: { parse: [] } });
  },
};

/**
 * Whether the user runs this bot: listed in OPERATOR_USER_IDS, or the application's owner, or an accepted member of
 * the team that owns it. The application is fetched each time (one REST call, for a rare command), so a change of
 * owner or team applies at once.
 */
async function isOperator(interaction: BaseInteraction, configured: readonly string[]): Promise<boolean> {
  const userId = interaction.user.id;
  if (configured.includes(userId)) return true;
  const application = await interaction.client.application.fetch();
  const owner = application.owner;
  if (owner instanceof Team) {
    return owner.members.some((m) => m.id === userId && m.membershipState === TeamMemberMembershipState.Accepted);
  }
  return owner?.id === userId;
}

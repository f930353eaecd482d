import { Team, TeamMemberMembershipState, type BaseInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';

/**
 * Whether the user runs this bot: listed in OPERATOR_USER_IDS, or the application's owner, or an accepted member of
 * the team that owns it. The application is fetched each time (one REST call, for a rare command), so a change of
 * owner or team applies at once. The operator commands (/bot-status, /bot-operator) check this themselves: their
 * `default_member_permissions: "0"` only hides them, and server admins can change who sees a command.
 */
export async function isOperator(interaction: BaseInteraction, configured: readonly string[]): Promise<boolean> {
  const userId = interaction.user.id;
  if (configured.includes(userId)) return true;
  const application = await interaction.client.application.fetch();
  const owner = application.owner;
  if (owner instanceof Team) {
    return owner.members.some((m) => m.id === userId && m.membershipState === TeamMemberMembershipState.Accepted);
  }
  return owner?.id === userId;
}

/** The gate of an operator command: defers privately, then refuses anyone but the operators (no figure shown). */
export async function requireOperator(interaction: ChatInputCommandInteraction, ctx: Pick<BotContext, 'acks' | 'config'>): Promise<void> {
  await ctx.acks.defer(interaction, { ephemeral: true });
  if (!(await isOperator(interaction, ctx.config.operatorUserIds))) {
    throw new UserFacingError(t(interaction.locale, 'refuse.notOperator', { command: `/${interaction.commandName}` }), { code: 'not_operator' });
  }
}

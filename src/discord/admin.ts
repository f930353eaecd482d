import { PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';

/**
 * The gate of every admin command. Discord's `default_member_permissions` only hides a command by default and a
 * server may loosen it, so Manage Server is checked again here before anything is read or changed.
 */
export function requireManageGuild(interaction: ChatInputCommandInteraction): string {
  const command = `/${interaction.commandName}`;
  if (!interaction.inGuild()) throw new UserFacingError(t(interaction.locale, 'common.guildOnly', { command }), { code: 'guild_only' });
  if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
    throw new UserFacingError(t(interaction.locale, 'common.notAdmin', { command }), { code: 'not_admin' });
  }
  return interaction.guildId;
}

import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type MessageComponentInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { ComponentHandler, SlashCommand } from '../src/discord/command.js';
import { resetNotice } from '../src/discord/admin.js';
import { Prefixes } from '../src/discord/custom-ids.js';
import { applySetting, isSettingField, settingsView, type SettingsScope } from '../src/discord/settings-view.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';
import type { ImageDefaults } from '../src/preferences/model.js';

/*
 * /settings: a member's own defaults for what a request leaves out (src/preferences), shown and changed in one
 * private message of select menus. The same view, for a server's defaults, opens from /bot-admin defaults; its
 * selects are for Manage Server only, checked again at every change.
 */

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'settings',
  description: english('cmd.settings.description'),
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export const settings: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    await ctx.acks.defer(interaction, { ephemeral: true });
    const view = settingsView('member', await ctx.preferences.member(interaction.user.id), interaction.locale);
    await interaction.editReply({ flags: MessageFlags.IsComponentsV2, components: view.components, allowedMentions: { parse: [] } });
  },
};

/** The server a server-defaults change is for, once the member is checked to manage it (custom_ids can be forged). */
function managedServer(interaction: MessageComponentInteraction): string {
  const command = '/bot-admin defaults';
  if (!interaction.inGuild()) throw new UserFacingError(t(interaction.locale, 'settings.guildOnly'), { code: 'guild_only' });
  if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) throw new UserFacingError(t(interaction.locale, 'common.notAdmin', { command }), { code: 'not_admin' });
  return interaction.guildId;
}

/** Changes someone's defaults and draws the view again in the same message. */
async function change(interaction: MessageComponentInteraction, ctx: BotContext, scope: SettingsScope, apply: (d: ImageDefaults) => ImageDefaults): Promise<void> {
  const guildId = scope === 'server' ? managedServer(interaction) : undefined;
  // A write waits for its lock: acknowledged first, so another writer cannot make the click miss Discord's 3 s.
  await interaction.deferUpdate();
  if (guildId === undefined) {
    const stored = await ctx.preferences.updateMember(interaction.user.id, apply);
    await interaction.editReply({ components: settingsView('member', stored, interaction.locale).components });
    return;
  }
  const { settings: stored, reset } = await ctx.preferences.updateServer(guildId, (s) => {
    s.defaults = apply(s.defaults);
  });
  ctx.logger.info({ guildId, adminId: interaction.user.id }, 'server image defaults changed');
  await interaction.editReply({ components: settingsView('server', stored.defaults, interaction.locale, stored).components });
  if (reset) await interaction.followUp({ content: resetNotice(interaction.locale, 'serverImages'), flags: MessageFlags.Ephemeral });
}

function selectHandler(prefix: string, scope: SettingsScope): ComponentHandler {
  return {
    prefix,
    async select(interaction, field, ctx) {
      if (!isSettingField(field)) throw new UserFacingError(t(interaction.locale, 'router.unknown'), { code: 'bad_custom_id' });
      const value = interaction.values[0] ?? '';
      await change(interaction, ctx, scope, (d) => applySetting(d, field, value));
    },
  };
}

export const settingsComponents: readonly ComponentHandler[] = [
  selectHandler(Prefixes.memberSetting, 'member'),
  selectHandler(Prefixes.serverSetting, 'server'),
  {
    prefix: Prefixes.resetSettings,
    async button(interaction, scope, ctx) {
      await change(interaction, ctx, scope === 'server' ? 'server' : 'member', () => ({}));
    },
  },
];

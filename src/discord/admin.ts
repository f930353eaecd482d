import { PermissionFlagsBits, type ChatInputCommandInteraction, type Locale } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { Acknowledgements } from './transport/acknowledgements.js';

/**
 * The gate of every admin command. Discord's `default_member_permissions` only hides a command by default and a
 * server may loosen it, so Manage Server is checked again here before anything is read or changed.
 */
function requireManageGuild(interaction: ChatInputCommandInteraction): string {
  const command = `/${interaction.commandName}`;
  if (!interaction.inGuild()) throw new UserFacingError(t(interaction.locale, 'common.guildOnly', { command }), { code: 'guild_only' });
  if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
    throw new UserFacingError(t(interaction.locale, 'common.notAdmin', { command }), { code: 'not_admin' });
  }
  return interaction.guildId;
}

/** What every admin subcommand's handler starts from: the checked server and the private answer. */
export interface AdminCall {
  readonly interaction: ChatInputCommandInteraction;
  readonly locale: Locale;
  readonly guildId: string;
  /**
   * Defers the answer (privately) before a write that waits for a storage lock: another writer holding it must
   * not make the command miss Discord's 3 s to answer.
   */
  beforeLockedWrite(): Promise<void>;
  /** A stored record of the server (`record`: its name in the core) could not be read and starts again from the defaults. */
  noteReset(record: string): void;
  /** `content` with a line in front for each record that was reset during this call (so the admin is told). */
  withNotes(content: string): string;
}

/** What an admin is told when one of the server's stored records could not be read and starts again from the defaults. */
export function resetNotice(locale: Locale | string, record: string): string {
  return t(locale, 'admin.reset', { what: t(locale, recordName(record)) });
}

type RecordNameKey = 'records.quotaSettings' | 'records.policy' | 'records.serverImages' | 'records.ceiling';

function recordName(record: string): RecordNameKey {
  switch (record) {
    case 'quotaSettings':
      return 'records.quotaSettings';
    case 'policy':
      return 'records.policy';
    case 'serverImages':
      return 'records.serverImages';
    default:
      return 'records.ceiling';
  }
}

/** Checks Manage Server (requireManageGuild) and builds the call an admin subcommand's handler gets. */
export function adminCall(interaction: ChatInputCommandInteraction, acks: Pick<Acknowledgements, 'defer'>): AdminCall {
  const guildId = requireManageGuild(interaction);
  const reset = new Set<string>();
  return {
    interaction,
    locale: interaction.locale,
    guildId,
    async beforeLockedWrite() {
      if (!interaction.deferred) await acks.defer(interaction, { ephemeral: true });
    },
    noteReset: (record) => void reset.add(record),
    withNotes: (content) => [...[...reset].map((record) => resetNotice(interaction.locale, record)), content].join('\n\n'),
  };
}

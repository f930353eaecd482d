import { ApplicationIntegrationType, OAuth2Scopes, PermissionFlagsBits, PermissionsBitField } from 'discord.js';

/**
 * The channel permissions the bot uses, and why. Nothing else: no Administrator, no Manage Messages, no
 * Mention Everyone. Slash commands and their replies need none of these (interactions carry their own rights);
 * these are for results that outlive the 15-minute interaction window and for reading messages.
 */
export const BOT_PERMISSIONS = [
  // See the channel at all (posting a late result, reading a message for "Edit image").
  ['ViewChannel', PermissionFlagsBits.ViewChannel],
  // Post a result or a failure notice in the channel after the interaction token expired.
  ['SendMessages', PermissionFlagsBits.SendMessages],
  // The same when the command was used in a thread.
  ['SendMessagesInThreads', PermissionFlagsBits.SendMessagesInThreads],
  // The result is an uploaded file.
  ['AttachFiles', PermissionFlagsBits.AttachFiles],
  // Results and notices are embeds (prompt, model, who asked).
  ['EmbedLinks', PermissionFlagsBits.EmbedLinks],
  // GET one message: "Edit image" re-reads its target, and a restarted bot checks whether its upload landed.
  ['ReadMessageHistory', PermissionFlagsBits.ReadMessageHistory],
] as const;

export const INVITE_SCOPES = [OAuth2Scopes.Bot, OAuth2Scopes.ApplicationsCommands] as const;

/** The permissions integer of BOT_PERMISSIONS, as Discord's `permissions=` parameter wants it. */
export function botPermissions(): bigint {
  return BOT_PERMISSIONS.reduce((bits, [, bit]) => bits | bit, 0n);
}

/** The server-install invite link: both scopes, exactly BOT_PERMISSIONS. */
export function inviteUrl(applicationId: string, guildId?: string): string {
  const params = new URLSearchParams({
    client_id: applicationId,
    scope: INVITE_SCOPES.join(' '),
    permissions: botPermissions().toString(),
    integration_type: String(ApplicationIntegrationType.GuildInstall),
  });
  if (guildId) {
    params.set('guild_id', guildId);
    params.set('disable_guild_select', 'true');
  }
  return `https://discord.com/oauth2/authorize?${params.toString()}`;
}

/** Permission names of a bitfield, for printing. */
export function permissionNames(bits: bigint): string[] {
  return new PermissionsBitField(bits).toArray();
}

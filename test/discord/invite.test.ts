// The invite URL: the scopes and the permissions the bot asks for.
import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { botPermissions, inviteUrl, permissionNames } from '../../src/discord/invite.js';

describe('the invite URL', () => {
  it('asks for exactly the channel permissions the bot uses', () => {
    const bits = botPermissions();
    // View Channel 1<<10, Send Messages 1<<11, Embed Links 1<<14, Attach Files 1<<15, Read Message History 1<<16,
    // Send Messages in Threads 1<<38.
    expect(bits).toBe((1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 38n));
    expect(bits).toBe(274878024704n);
    expect(permissionNames(bits).sort()).toEqual(['AttachFiles', 'EmbedLinks', 'ReadMessageHistory', 'SendMessages', 'SendMessagesInThreads', 'ViewChannel']);
    for (const dangerous of [PermissionFlagsBits.Administrator, PermissionFlagsBits.ManageMessages, PermissionFlagsBits.MentionEveryone, PermissionFlagsBits.ManageGuild]) {
      expect(bits & dangerous).toBe(0n);
    }
  });

  it('carries the application id, both scopes and the permissions integer, for a server install', () => {
    const url = new URL(inviteUrl('1100000000000000001'));
    expect(url.origin + url.pathname).toBe('https://discord.com/oauth2/authorize');
    expect(url.searchParams.get('client_id')).toBe('1100000000000000001');
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(['bot', 'applications.commands']);
    expect(url.searchParams.get('permissions')).toBe('274878024704');
    expect(url.searchParams.get('integration_type')).toBe('0');
    expect(url.searchParams.has('guild_id')).toBe(false);
  });

  it('preselects a server when one is given', () => {
    const url = new URL(inviteUrl('1100000000000000001', '1200000000000000001'));
    expect(url.searchParams.get('guild_id')).toBe('1200000000000000001');
    expect(url.searchParams.get('disable_guild_select')).toBe('true');
  });
});

import { MessageFlags, type RepliableInteraction } from 'discord.js';

/**
 * Answers a member with a message only they see, whatever state the interaction is in. A public deferral is
 * removed first, so a refusal never leaves a "thinking…" message behind in the channel.
 */
export async function replyPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  const body = { content, flags: MessageFlags.Ephemeral as const, allowedMentions: { parse: [] } };
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply(body);
    return;
  }
  if (interaction.deferred && !interaction.replied && !interaction.ephemeral) {
    await interaction.deleteReply().catch(() => undefined);
  }
  if (interaction.deferred && interaction.ephemeral && !interaction.replied) {
    await interaction.editReply({ content, allowedMentions: { parse: [] } });
    return;
  }
  await interaction.followUp(body);
}

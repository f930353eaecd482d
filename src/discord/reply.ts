import { MessageFlags, type APIActionRowComponent, type APIComponentInMessageActionRow, type RepliableInteraction } from 'discord.js';

/**
 * Answers a member with a message only they see, whatever state the interaction is in. A public deferral is
 * removed first, so a refusal never leaves a "thinking…" message behind in the channel. `components`: buttons
 * under it (a refusal's Premium buttons).
 */
export async function replyPrivately(interaction: RepliableInteraction, content: string, components: APIActionRowComponent<APIComponentInMessageActionRow>[] = []): Promise<void> {
  const body = { content, flags: MessageFlags.Ephemeral as const, allowedMentions: { parse: [] }, ...(components.length > 0 ? { components } : {}) };
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply(body);
    return;
  }
  if (interaction.deferred && !interaction.replied && !interaction.ephemeral) {
    await interaction.deleteReply().catch(() => undefined);
  }
  if (interaction.deferred && interaction.ephemeral && !interaction.replied) {
    await interaction.editReply({ content, allowedMentions: { parse: [] }, ...(components.length > 0 ? { components } : {}) });
    return;
  }
  await interaction.followUp(body);
}

import type { APIMessage, BaseInteraction, RepliableInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError, apology, newReference } from '../errors.js';
import { sniffImageType } from '../http/download.js';
import { t } from '../i18n/index.js';
import { fitToLimit } from '../images/fit.js';
import { DEFAULT_ATTACHMENT_LIMIT } from '../jobs/create.js';
import { plainMessage, resultMessage, resultFilename } from './render.js';
import { discordStatus, type OutgoingMessage } from './responder.js';
import { replyPrivately } from './reply.js';
import { DiscordCodes, discordErrorCode } from './responder.js';
import type { Command, ComponentHandler } from './command.js';
import { splitCustomId } from './custom-ids.js';

/**
 * The one place interactions enter: finds the handler, runs it, and turns any error into a message. A
 * UserFacingError's text is shown as is; anything else is logged with a reference the member can quote.
 */
export function createInteractionHandler(ctx: BotContext, commands: readonly Command[], components: readonly ComponentHandler[]) {
  const byName = new Map(commands.map((c) => [`${c.kind}:${c.data.name}`, c]));
  const byPrefix = new Map(components.map((c) => [c.prefix, c]));

  return async function handle(interaction: BaseInteraction): Promise<void> {
    if (!interaction.isRepliable()) return;
    const log = ctx.logger.child({
      interactionId: interaction.id,
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
    });
    // Every reply is awaited inside this try: a promise returned un-awaited would reject past the catch (e.g. a
    // retired command answered after Discord dropped the interaction, 10062) and take the process down.
    try {
      if (interaction.isChatInputCommand()) {
        const cmd = byName.get(`slash:${interaction.commandName}`);
        if (cmd?.kind !== 'slash') return await unknown(interaction);
        log.info({ command: interaction.commandName }, 'command');
        await cmd.execute(interaction, ctx);
      } else if (interaction.isMessageContextMenuCommand()) {
        const cmd = byName.get(`message:${interaction.commandName}`);
        if (cmd?.kind !== 'message') return await unknown(interaction);
        log.info({ command: interaction.commandName, targetId: interaction.targetId }, 'context menu');
        await cmd.execute(interaction, ctx);
      } else if (interaction.isButton() || interaction.isModalSubmit()) {
        const { prefix, arg } = splitCustomId(interaction.customId);
        const handler = byPrefix.get(prefix);
        log.info({ customId: interaction.customId }, interaction.isButton() ? 'button' : 'modal');
        if (interaction.isButton() && handler?.button) await handler.button(interaction, arg, ctx);
        else if (interaction.isModalSubmit() && handler?.modal) await handler.modal(interaction, arg, ctx);
        else return await unknown(interaction);
      } else {
        return;
      }
    } catch (err) {
      await reportError(interaction, err, log);
    }
    await handOverUndelivered(interaction, ctx).catch((err: unknown) => log.warn({ err }, 'could not hand over kept results'));
  };
}

async function unknown(interaction: RepliableInteraction): Promise<void> {
  await replyPrivately(interaction, t(interaction.locale, 'router.unknown'));
}

async function reportError(interaction: RepliableInteraction, err: unknown, log: BotContext['logger']): Promise<void> {
  let text: string;
  if (discordErrorCode(err) === DiscordCodes.UnknownInteraction && !interaction.deferred && !interaction.replied) {
    // Discord's 3 s to acknowledge had passed (the bot was overloaded or paused): nothing can reach the member
    // through this interaction any more, and an error log with a stack and a reply that fails too would only make
    // an overloaded bot slower for the interactions behind it.
    log.warn('interaction expired before the bot could acknowledge it');
    return;
  }
  if (err instanceof UserFacingError) {
    log.info({ code: err.options.code, reason: err.message }, 'refused');
    text = err.message;
  } else {
    const ref = newReference();
    log.error({ err, ref }, 'interaction failed');
    text = apology(ref, interaction.locale);
  }
  try {
    await replyPrivately(interaction, text);
  } catch (replyErr) {
    log.warn({ err: replyErr }, 'could not tell the member about the error');
  }
}

/**
 * Results that could not be delivered earlier are handed over the next time the member uses the bot. Each leaves
 * the list only once it has reached the member, so a crash or a failure mid-way loses none.
 */
async function handOverUndelivered(interaction: RepliableInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.deferred && !interaction.replied) return;
  const userId = interaction.user.id;
  if ((await ctx.jobs.listUndelivered(userId)).length === 0) return;
  // Two interactions of one member at once must not hand the same image over twice.
  await ctx.storage.withLock(`handover:${userId}`, async () => {
    for (const id of await ctx.jobs.listUndelivered(userId)) {
      try {
        await handOver(interaction, ctx, id);
      } catch (err) {
        ctx.logger.warn({ err, jobId: id, userId }, 'kept result could not be handed over; will try again next time');
      }
    }
  });
}

async function handOver(interaction: RepliableInteraction, ctx: BotContext, id: string): Promise<void> {
  const userId = interaction.user.id;
  const job = await ctx.jobs.get(id);
  const bytes = await ctx.jobs.getResult(id);
  if (!job || !bytes || job.step !== 'undelivered') {
    await ctx.jobs.removeUndelivered(userId, id);
    return;
  }
  const limit = interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT;
  const fitted = await fitToLimit(bytes, sniffImageType(bytes) ?? 'image/png', limit);
  const file = { name: resultFilename(job, fitted.contentType), data: fitted.data, contentType: fitted.contentType };
  // Shown publicly only in the channel where it was asked for; anywhere else (another channel, another server)
  // only to the member, and without buttons: a reroll from there would show the prompt where it was not asked.
  const here = interaction.channelId !== null && interaction.channelId === job.discord.channelId;
  const full = resultMessage(job, file, { mention: here, compressed: fitted.compressed });
  const message: OutgoingMessage = here
    ? { ...full, content: t(interaction.guildLocale ?? interaction.locale, 'result.handOver.public', { user: `<@${userId}>` }) }
    : { ...full, content: t(interaction.locale, 'result.handOver.private'), components: [], ephemeral: true };
  let sent: APIMessage;
  try {
    sent = await ctx.discord.followUp(interaction.applicationId, interaction.token, message);
  } catch (err) {
    if (discordStatus(err) !== 400) throw err;
    // Discord refused the message's form: once more as plain text with the image.
    sent = await ctx.discord.followUp(interaction.applicationId, interaction.token, plainMessage(message));
  }
  job.step = 'done';
  job.delivery = { via: 'original', messageId: sent.id, channelId: sent.channel_id, at: Date.now() };
  await ctx.jobs.save(job);
  await ctx.jobs.removeUndelivered(userId, id);
}

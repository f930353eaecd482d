import type { BaseInteraction, RepliableInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError, apology, newReference, storageRefusal } from '../errors.js';
import { t } from '../i18n/index.js';
import { interactionRoute } from './route.js';
import { requesterOf } from './start-job.js';
import { premiumButtons } from './premium.js';
import { replyPrivately } from './reply.js';
import { DiscordCodes, discordErrorCode } from './transport/responder.js';
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
    ctx.acks.arrived(interaction.id);
    try {
      await route(interaction);
    } finally {
      ctx.acks.settled(interaction.id);
    }
  };

  async function route(interaction: RepliableInteraction): Promise<void> {
    const ids = { interactionId: interaction.id, userId: interaction.user.id, guildId: interaction.guildId, channelId: interaction.channelId };
    // The line that says what arrived carries the ids itself; a child logger (whose bindings pino serializes and
    // redacts when it is made) only once something more is logged — in a burst, thousands are made otherwise.
    let child: BotContext['logger'] | undefined;
    const log = () => (child ??= ctx.logger.child(ids));
    // Every reply is awaited inside this try: a promise returned un-awaited would reject past the catch (e.g. a
    // retired command answered after Discord dropped the interaction, 10062) and take the process down.
    try {
      if (interaction.isChatInputCommand()) {
        const cmd = byName.get(`slash:${interaction.commandName}`);
        if (cmd?.kind !== 'slash') return await unknown(interaction);
        ctx.logger.info({ ...ids, command: interaction.commandName }, 'command');
        await cmd.execute(interaction, ctx);
      } else if (interaction.isMessageContextMenuCommand()) {
        const cmd = byName.get(`message:${interaction.commandName}`);
        if (cmd?.kind !== 'message') return await unknown(interaction);
        ctx.logger.info({ ...ids, command: interaction.commandName, targetId: interaction.targetId }, 'context menu');
        await cmd.execute(interaction, ctx);
      } else if (interaction.isButton() || interaction.isModalSubmit() || interaction.isStringSelectMenu()) {
        const { prefix, arg } = splitCustomId(interaction.customId);
        const handler = byPrefix.get(prefix);
        ctx.logger.info({ ...ids, customId: interaction.customId }, interaction.isButton() ? 'button' : interaction.isModalSubmit() ? 'modal' : 'select');
        if (interaction.isButton() && handler?.button) await handler.button(interaction, arg, ctx);
        else if (interaction.isModalSubmit() && handler?.modal) await handler.modal(interaction, arg, ctx);
        else if (interaction.isStringSelectMenu() && handler?.select) await handler.select(interaction, arg, ctx);
        else return await unknown(interaction);
      } else {
        return;
      }
    } catch (err) {
      await reportError(interaction, err, log());
    }
    await handOverUndelivered(interaction, ctx).catch((err: unknown) => log().warn({ err }, 'could not hand over kept results'));
  }
}

async function unknown(interaction: RepliableInteraction): Promise<void> {
  await replyPrivately(interaction, t(interaction.locale, 'router.unknown'));
}

async function reportError(interaction: RepliableInteraction, err: unknown, log: BotContext['logger']): Promise<void> {
  let text: string;
  let components: ReturnType<typeof premiumButtons> = [];
  if (discordErrorCode(err) === DiscordCodes.UnknownInteraction && !interaction.deferred && !interaction.replied) {
    // Discord's 3 s to acknowledge had passed (the bot was overloaded or paused): nothing can reach the member
    // through this interaction any more, and an error log with a stack and a reply that fails too would only make
    // an overloaded bot slower for the interactions behind it.
    log.warn('interaction expired before the bot could acknowledge it');
    return;
  }
  const fromStorage = storageRefusal(err, interaction.locale);
  if (fromStorage) log.warn({ err }, 'storage failed the command');
  err = fromStorage ?? err;
  if (err instanceof UserFacingError) {
    log.info({ code: err.options.code, reason: err.message }, 'refused');
    text = err.message;
    // A premium tier that would lift the refusal: Discord's Premium button opens its store.
    components = premiumButtons(err.options.offers ?? []);
  } else {
    const ref = newReference();
    log.error({ err, ref }, 'interaction failed');
    text = apology(ref, interaction.locale);
  }
  try {
    await replyPrivately(interaction, text, components);
  } catch (replyErr) {
    log.warn({ err: replyErr }, 'could not tell the member about the error');
  }
}

/** Kept results go to the member through this interaction, now that it is acknowledged. */
async function handOverUndelivered(interaction: RepliableInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.deferred && !interaction.replied) return;
  await ctx.engine.handOverUndelivered({ requester: requesterOf(interaction), route: { ...interactionRoute(interaction) } });
}

import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  StringSelectMenuInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../context.js';

/** One user-facing command: its definition (registered by deploy-commands) and its handler, side by side. */
export interface SlashCommand {
  readonly kind: 'slash';
  readonly data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
}

export interface MessageMenuCommand {
  readonly kind: 'message';
  readonly data: RESTPostAPIContextMenuApplicationCommandsJSONBody;
  execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void>;
}

export type Command = SlashCommand | MessageMenuCommand;

/** Buttons, modals and string selects are routed by their custom_id's prefix (`job:reroll:<id>` → `job:reroll`; see custom-ids.ts). */
export interface ComponentHandler {
  readonly prefix: string;
  button?(interaction: ButtonInteraction, arg: string, ctx: BotContext): Promise<void>;
  modal?(interaction: ModalSubmitInteraction, arg: string, ctx: BotContext): Promise<void>;
  select?(interaction: StringSelectMenuInteraction, arg: string, ctx: BotContext): Promise<void>;
}

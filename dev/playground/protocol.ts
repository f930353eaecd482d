// What the playground's server and its page say to each other — types only, imported by the server (TypeScript) and
// by the page's modules (JSDoc in `// @ts-check` JavaScript), so both sides are checked against one description.
//
// The page POSTs actions to /api/<action> (JSON bodies below; every one carries `as` and `place`), uploads files to
// /api/upload, and reads events from the WebSocket at /ws: first `hello`, then the others as things happen.
import type { APIAttachment, APIMessage, APIModalInteractionResponseCallbackData } from 'discord-api-types/v10';

export type PersonKey = 'member' | 'admin';

export interface Person {
  key: PersonKey;
  id: string;
  username: string;
  displayName: string;
  roles: string[];
  /** What the person may do on the server (decimal bitfield), as Discord computes it for command visibility. */
  permissions: string;
}

/** 'general' (the server channel) or 'dm' (the DM with the bot). */
export type Place = 'general' | 'dm';

/** A message as the page draws it. */
export interface ViewMessage extends Omit<APIMessage, 'interaction'> {
  place: Place;
  /** Set for ephemeral replies and DMs: only this person sees the message. */
  visibleTo?: string;
  /**
   * The interaction behind this "thinking…" reply can no longer be answered (its token expired): Discord's client
   * then shows the reply as failed.
   */
  interactionFailed?: true;
}

/** An option of a registered command, as far as the page's command picker reads it (Discord's field names). */
export interface CommandOption {
  /** ApplicationCommandOptionType: 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 10 number, 11 attachment. */
  type: number;
  name: string;
  description: string;
  required?: boolean;
  choices?: Array<{ name: string; value: string | number }>;
  /** A subcommand's options, or a group's subcommands. */
  options?: CommandOption[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  channel_types?: number[];
}

/** A command as registered with the fake Discord (what GET /applications/:id/commands returns), as the page reads it. */
export interface RegisteredCommand {
  id?: string;
  /** ApplicationCommandType: 1 (or absent) slash command, 2 user menu, 3 message menu. */
  type?: number;
  name: string;
  description?: string;
  options?: CommandOption[];
  default_member_permissions?: string | null;
  /** InteractionContextType: 0 server, 1 DM with the bot, 2 other private channels. */
  contexts?: number[] | null;
}

export type ChaosKind = 'moderation' | 'rate-limit' | 'slow' | 'expire-token' | 'download-failure';

/** How many of each staged failure are armed, and whether Luma is the fake (Luma failures can be staged) or real. */
export interface ChaosState {
  moderation: number;
  rateLimit: number;
  slow: number;
  expireToken: number;
  downloadFailure: number;
  luma: 'fake' | 'real';
}

/** One thing the bot sells through Discord's store (a SKU), as the page's Store shows it. */
export interface StoreItem {
  skuId: string;
  name: string;
  /** A member's subscription, the server's subscription, or a credit pack. */
  kind: 'user' | 'guild' | 'pack';
  /** What it adds, in the page's words. */
  adds: string;
}

/** What is sold, and the SKUs each person holds right now (the server's subscription counts for everyone). */
export interface StoreState {
  items: StoreItem[];
  owned: Record<PersonKey, string[]>;
}

export interface LogEntry {
  level: number;
  msg: string;
  time: number;
}

export interface HelloEvent {
  type: 'hello';
  people: Person[];
  bot: { id: string; name: string };
  server: { id: string; name: string; channelId: string; channelName: string };
  commands: RegisteredCommand[];
  messages: ViewMessage[];
  chaos: ChaosState;
  store: StoreState;
  logs: LogEntry[];
}

export interface MessagesEvent {
  type: 'messages';
  upsert: ViewMessage[];
  remove: string[];
}

/** The bot answered an interaction with a form: shown to whoever acted (`userId`). */
export interface ModalEvent {
  type: 'modal';
  userId: string;
  /** The message the interaction came from, when it came from a button on one. */
  sourceMessageId: string | undefined;
  modal: APIModalInteractionResponseCallbackData;
}

export interface ChaosEvent {
  type: 'chaos';
  chaos: ChaosState;
}

/** A line the page shows as a toast: to everyone, or only to `userId`. */
export interface NoticeEvent {
  type: 'notice';
  userId?: string;
  text: string;
}

export interface LogEvent {
  type: 'log';
  line: LogEntry;
}

export interface StoreEvent {
  type: 'store';
  store: StoreState;
}

export type ServerEvent = HelloEvent | MessagesEvent | ModalEvent | ChaosEvent | NoticeEvent | LogEvent | StoreEvent;

/** A command option as the page sends it: Discord's name/type/value. */
export interface OptionValue {
  name: string;
  type: number;
  value: string | number | boolean;
}

interface ActionBase {
  as: PersonKey;
  place: Place;
}

/** The body of each POST /api/<action>. */
export interface ActionBodies {
  command: ActionBase & { name: string; subcommandGroup?: string; subcommand?: string; options: OptionValue[] };
  message: ActionBase & { content: string; attachments: string[] };
  button: ActionBase & { messageId: string; customId: string };
  /** A choice in a string select on a message (component_type 3): the values picked. */
  select: ActionBase & { messageId: string; customId: string; values: string[] };
  app: ActionBase & { name: string; messageId: string };
  /**
   * A form submitted: text inputs by custom_id, string selects' choices, and each File Upload's files (ids from
   * /api/upload). `labels`: the form put its fields in Labels (type 18), so the submit nests them so too.
   */
  modal: ActionBase & {
    customId: string;
    fields: Record<string, string>;
    selects?: Record<string, string[]>;
    uploads?: Record<string, string[]>;
    labels?: boolean;
    sourceMessageId: string | undefined;
  };
  chaos: ActionBase & { kind: ChaosKind };
  /** Buys a SKU as the person (a Discord test entitlement), then runs /quota for them where they are. */
  buy: ActionBase & { skuId: string };
  /** Cancels the person's (or the server's) subscription of a SKU. */
  cancel: ActionBase & { skuId: string };
}

export type ActionName = keyof ActionBodies;

/** What each action answers with (errors answer `{ error }` with a 4xx/5xx status). */
export interface ActionResults {
  command: { id: string };
  message: { id: string };
  button: { id: string };
  select: { id: string };
  app: { id: string };
  modal: { id: string };
  chaos: ChaosState;
  buy: StoreState;
  cancel: StoreState;
}

/** POST /api/upload?filename=… answers with the attachment, as Discord would resolve it. */
export type UploadResult = APIAttachment;

export interface ErrorAnswer {
  error: string;
}

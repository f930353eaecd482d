import { ApplicationCommandOptionType, type Attachment, type ChatInputCommandInteraction } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';

/*
 * Option values typed from the command's own definition. A command declares its data
 * `as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody`, and `readOptions` / `readSubcommand`
 * return an object keyed by the option names of that definition: a name the definition lacks, or a value of the
 * wrong type, does not compile. Required options are never null; the others are null when the member left them out.
 *
 * A choice's value is typed as its base type (string or number), not as the listed values: a command registered
 * by an older deploy can still send a value this definition no longer lists, so commands check it themselves.
 */

/** The part of an option definition that decides how its value is read. */
interface OptionDefinition {
  readonly type: ApplicationCommandOptionType;
  readonly name: string;
  readonly required?: boolean;
  readonly options?: readonly OptionDefinition[];
}

interface Definition {
  readonly options?: readonly OptionDefinition[];
}

type Nesting = ApplicationCommandOptionType.Subcommand | ApplicationCommandOptionType.SubcommandGroup;

/**
 * User, role, channel and mentionable options give the id they carry: the commands need only the id, and
 * discord.js's getters for them would also require the resolved user, role or channel.
 */
type ValueOf<T extends ApplicationCommandOptionType> = T extends ApplicationCommandOptionType.String
  ? string
  : T extends ApplicationCommandOptionType.Integer | ApplicationCommandOptionType.Number
    ? number
    : T extends ApplicationCommandOptionType.Boolean
      ? boolean
      : T extends ApplicationCommandOptionType.Attachment
        ? Attachment
        : string;

/**
 * The values of a list of (non-nesting) option definitions, by name. An option whose name is typed as any string
 * (declared with a wide annotation instead of `as const`) gets no key, so reading it does not compile.
 */
export type OptionValues<Options> = Options extends readonly OptionDefinition[]
  ? {
      readonly [O in Exclude<Options[number], { readonly type: Nesting }> as string extends O['name'] ? never : O['name']]: O extends { readonly required: true }
        ? ValueOf<O['type']>
        : ValueOf<O['type']> | null;
    }
  : Record<never, never>;

/** The options of a command without subcommands. */
export type CommandOptions<D extends Definition> = OptionValues<D['options']>;

type SubcommandsIn<Options, Prefix extends string> = Options extends readonly OptionDefinition[]
  ? Options[number] extends infer O
    ? O extends { readonly type: ApplicationCommandOptionType.Subcommand; readonly name: infer N extends string }
      ? { readonly name: `${Prefix}${N}`; readonly options: OptionValues<O extends { readonly options: infer S } ? S : undefined> }
      : O extends { readonly type: ApplicationCommandOptionType.SubcommandGroup; readonly name: infer G extends string; readonly options: infer S }
        ? SubcommandsIn<S, `${Prefix}${G} `>
        : never
    : never
  : never;

/** The subcommand a member used — named `group sub` inside a group — and its options: one member per subcommand. */
export type Subcommand<D extends Definition> = SubcommandsIn<D['options'], ''>;

/** The options of one subcommand, by its name. */
export type SubcommandOptions<D extends Definition, N extends Subcommand<D>['name']> = Extract<Subcommand<D>, { readonly name: N }>['options'];

/** One handler per subcommand of a definition; the compiler asks for every one and for no other. */
export type SubcommandHandlers<D extends Definition, Args extends unknown[]> = {
  readonly [S in Subcommand<D> as S['name']]: (options: S['options'], ...args: Args) => Promise<void>;
};

type Interaction = Pick<ChatInputCommandInteraction, 'options' | 'locale'>;

const isNesting = (o: OptionDefinition): boolean =>
  o.type === ApplicationCommandOptionType.Subcommand || o.type === ApplicationCommandOptionType.SubcommandGroup;

/**
 * One value as its definition says. discord.js's own getters check the type that arrived and throw when a
 * required option is missing (only an outdated registration or a forged payload can cause either).
 */
function readValue(resolver: Interaction['options'], o: OptionDefinition): unknown {
  const required = o.required === true;
  switch (o.type) {
    case ApplicationCommandOptionType.String:
      return resolver.getString(o.name, required);
    case ApplicationCommandOptionType.Integer:
      return resolver.getInteger(o.name, required);
    case ApplicationCommandOptionType.Number:
      return resolver.getNumber(o.name, required);
    case ApplicationCommandOptionType.Boolean:
      return resolver.getBoolean(o.name, required);
    case ApplicationCommandOptionType.Attachment:
      return resolver.getAttachment(o.name, required);
    default: {
      const option = resolver.get(o.name, required);
      if (option === null) return null;
      if (option.type !== o.type || typeof option.value !== 'string') {
        throw new TypeError(`Option "${o.name}" arrived as type ${option.type} with a ${typeof option.value} value; the definition says type ${o.type}`);
      }
      return option.value;
    }
  }
}

function readValues(resolver: Interaction['options'], options: readonly OptionDefinition[] | undefined): Record<string, unknown> {
  return Object.fromEntries((options ?? []).filter((o) => !isNesting(o)).map((o) => [o.name, readValue(resolver, o)]));
}

/** The options of a command without subcommands, by the names its definition gives them. */
export function readOptions<D extends Definition>(interaction: Interaction, data: D): CommandOptions<D> {
  return readValues(interaction.options, data.options) as CommandOptions<D>;
}

/** Which subcommand the member used and its options; one this definition does not know is refused. */
export function readSubcommand<D extends Definition>(interaction: Interaction, data: D): Subcommand<D> {
  const group = interaction.options.getSubcommandGroup(false);
  const sub = interaction.options.getSubcommand(true);
  const name = group === null ? sub : `${group} ${sub}`;
  const parent = group === null ? data : data.options?.find((o) => o.type === ApplicationCommandOptionType.SubcommandGroup && o.name === group);
  const definition = parent?.options?.find((o) => o.type === ApplicationCommandOptionType.Subcommand && o.name === sub);
  if (!definition) throw new UserFacingError(t(interaction.locale, 'common.unknownSubcommand', { name }), { code: 'bad_option' });
  return { name, options: readValues(interaction.options, definition.options) } as Subcommand<D>;
}

/** Calls the handler of the subcommand that was used. */
export function runSubcommand<D extends Definition, Args extends unknown[]>(
  handlers: SubcommandHandlers<D, Args>,
  subcommand: Subcommand<D>,
  ...args: Args
): Promise<void> {
  // The compiler cannot pair a member of the union with its own handler; the mapped type above guarantees it.
  const handler = (handlers as Record<string, (options: unknown, ...args: Args) => Promise<void>>)[subcommand.name];
  if (!handler) throw new Error(`no handler for subcommand ${subcommand.name}`);
  return handler(subcommand.options, ...args);
}

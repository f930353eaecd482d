// Reading a slash command's options by the names and types of its definition, with discord.js's real option
// resolver built from the options Discord would send.
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  CommandInteractionOptionResolver,
  Locale,
  type Attachment,
  type CommandInteractionOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { readOptions, readSubcommand, runSubcommand, type SubcommandHandlers } from '../../src/discord/command-options.js';
import { UserFacingError } from '../../src/errors.js';

const flat = {
  type: ApplicationCommandType.ChatInput,
  name: 'flat',
  description: 'A command without subcommands',
  options: [
    { type: ApplicationCommandOptionType.String, name: 'prompt', description: 'p', required: true },
    { type: ApplicationCommandOptionType.Integer, name: 'count', description: 'c' },
    { type: ApplicationCommandOptionType.Boolean, name: 'loud', description: 'l' },
    { type: ApplicationCommandOptionType.Attachment, name: 'image', description: 'i' },
    { type: ApplicationCommandOptionType.Role, name: 'role', description: 'r' },
    { type: ApplicationCommandOptionType.String, name: 'size', description: 's', choices: [{ name: 'big', value: 'big' }] },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

const nested = {
  type: ApplicationCommandType.ChatInput,
  name: 'nested',
  description: 'A command with subcommands and a group',
  options: [
    { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: 's' },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set',
      description: 's',
      options: [{ type: ApplicationCommandOptionType.User, name: 'user', description: 'u', required: true }],
    },
    {
      type: ApplicationCommandOptionType.SubcommandGroup,
      name: 'terms',
      description: 't',
      options: [
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'add',
          description: 'a',
          options: [{ type: ApplicationCommandOptionType.String, name: 'terms', description: 't', required: true }],
        },
      ],
    },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What discord.js hands a command: its own resolver over the options that arrived (the resolver's constructor is private). */
function interaction(options: CommandInteractionOption[]) {
  const resolver = Reflect.construct(CommandInteractionOptionResolver, [{}, options, {}]) as CommandInteractionOptionResolver;
  return { options: resolver, locale: Locale.EnglishUS };
}

const attachment = { id: '1300000000000000001', name: 'cat.png' } as Attachment;

describe('readOptions', () => {
  it('gives each defined option its value, and null for those left out', () => {
    const options = readOptions(
      interaction([
        { name: 'prompt', type: ApplicationCommandOptionType.String, value: 'a cat' },
        { name: 'loud', type: ApplicationCommandOptionType.Boolean, value: false },
        { name: 'image', type: ApplicationCommandOptionType.Attachment, value: attachment.id, attachment },
        { name: 'role', type: ApplicationCommandOptionType.Role, value: '1200000000000000001' },
      ]),
      flat,
    );
    expect(options).toEqual({ prompt: 'a cat', count: null, loud: false, image: attachment, role: '1200000000000000001', size: null });
  });

  it('types values from the definition: required never null, choices as their base type', () => {
    const options = readOptions(interaction([{ name: 'prompt', type: ApplicationCommandOptionType.String, value: 'x' }]), flat);
    expectTypeOf(options.prompt).toEqualTypeOf<string>();
    expectTypeOf(options.count).toEqualTypeOf<number | null>();
    expectTypeOf(options.loud).toEqualTypeOf<boolean | null>();
    expectTypeOf(options.image).toEqualTypeOf<Attachment | null>();
    expectTypeOf(options.role).toEqualTypeOf<string | null>();
    expectTypeOf(options.size).toEqualTypeOf<string | null>();
    // @ts-expect-error: the definition has no option of that name
    void options.promt;
  });

  it('offers no option whose name the compiler cannot know', () => {
    const wide: { type: ApplicationCommandOptionType.String; name: string; description: string } = { type: ApplicationCommandOptionType.String, name: 'style', description: 's' };
    const data = { type: ApplicationCommandType.ChatInput, name: 'wide', description: 'w', options: [wide] } as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;
    const options = readOptions(interaction([{ name: 'style', type: ApplicationCommandOptionType.String, value: 'manga' }]), data);
    expect(options).toEqual({ style: 'manga' });
    // @ts-expect-error: `name: string` gives no key to read by
    void options.style;
  });

  it('throws when a required option is missing or an option arrives with another type than defined', () => {
    expect(() => readOptions(interaction([]), flat)).toThrow(/prompt/);
    expect(() =>
      readOptions(
        interaction([
          { name: 'prompt', type: ApplicationCommandOptionType.String, value: 'x' },
          { name: 'count', type: ApplicationCommandOptionType.String, value: '3' },
        ]),
        flat,
      ),
    ).toThrow(/count/);
    expect(() =>
      readOptions(
        interaction([
          { name: 'prompt', type: ApplicationCommandOptionType.String, value: 'x' },
          { name: 'role', type: ApplicationCommandOptionType.User, value: '1200000000000000001' },
        ]),
        flat,
      ),
    ).toThrow(/role/);
  });
});

describe('readSubcommand', () => {
  it('names the subcommand used, group first, with its own options', () => {
    const show = readSubcommand(interaction([{ name: 'show', type: ApplicationCommandOptionType.Subcommand, options: [] }]), nested);
    expect(show).toEqual({ name: 'show', options: {} });
    const add = readSubcommand(
      interaction([
        {
          name: 'terms',
          type: ApplicationCommandOptionType.SubcommandGroup,
          options: [{ name: 'add', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'terms', type: ApplicationCommandOptionType.String, value: 'gore' }] }],
        },
      ]),
      nested,
    );
    expect(add).toEqual({ name: 'terms add', options: { terms: 'gore' } });
    expectTypeOf(add.name).toEqualTypeOf<'show' | 'set' | 'terms add'>();
    if (add.name === 'set') expectTypeOf(add.options).toEqualTypeOf<{ readonly user: string }>();
  });

  it('refuses a subcommand the definition does not know, in the member’s words', () => {
    const stale = interaction([{ name: 'remove', type: ApplicationCommandOptionType.Subcommand, options: [] }]);
    expect(() => readSubcommand(stale, nested)).toThrow(UserFacingError);
    expect(() => readSubcommand(stale, nested)).toThrow('Unknown subcommand "remove".');
  });

  it('runs the handler of the subcommand used, with its options and the extra arguments', async () => {
    const calls: string[] = [];
    const handlers: SubcommandHandlers<typeof nested, [string]> = {
      show: async (_options, who) => void calls.push(`show by ${who}`),
      set: async ({ user }, who) => void calls.push(`set ${user} by ${who}`),
      'terms add': async ({ terms }, who) => void calls.push(`add ${terms} by ${who}`),
    };
    const set = readSubcommand(
      interaction([{ name: 'set', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'user', type: ApplicationCommandOptionType.User, value: '1' }] }]),
      nested,
    );
    await runSubcommand(handlers, set, 'admin');
    expect(calls).toEqual(['set 1 by admin']);
  });
});

// `npm run deploy-commands`: registers every command definition with Discord (PUT of the full list), prints
// what it registered, and exits. Guild-scoped when DISCORD_GUILD_ID is set (instant, for testing), else global.
import { ApplicationCommandType, Routes, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { DiscordHttp } from './discord/transport/http.js';
import { commands } from '../commands/index.js';
import { loadConfigOrExit, type Config } from './config.js';
import { localizeCommand } from './i18n/commands.js';

export async function deployCommands(config: Config): Promise<RESTPutAPIApplicationCommandsResult> {
  const http = new DiscordHttp({ apiUrl: config.discordApiUrl, connections: 2 });
  try {
    const rest = http.restClient(config.discordToken);
    const applicationId =
      config.discordApplicationId ?? ((await rest.get(Routes.currentApplication())) as { id: string }).id;
    // Names, descriptions and choices carry their translations (src/i18n), so each member sees their language.
    const body = commands.map((c) => localizeCommand(c.data));
    const route = config.discordGuildId
      ? Routes.applicationGuildCommands(applicationId, config.discordGuildId)
      : Routes.applicationCommands(applicationId);
    return (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  } finally {
    await http.close();
  }
}

async function main(): Promise<void> {
  const config = await loadConfigOrExit('deploy');
  const registered = await deployCommands(config);
  const scope = config.discordGuildId ? `guild ${config.discordGuildId}` : 'global (may take up to an hour to appear everywhere)';
  console.log(`Registered ${registered.length} commands, ${scope}:`);
  for (const c of registered) {
    const kind = c.type === ApplicationCommandType.ChatInput ? 'slash' : c.type === ApplicationCommandType.Message ? 'message menu' : c.type === ApplicationCommandType.User ? 'user menu' : `type ${c.type}`;
    console.log(`  ${c.type === ApplicationCommandType.ChatInput ? '/' : ''}${c.name}  (${kind}, id ${c.id})`);
  }
}

// Run only as a script, so tests can import deployCommands.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    const status = (err as { status?: number }).status;
    if (status === 401) console.error('Discord rejected DISCORD_TOKEN (401). Copy the bot token again from the developer portal.');
    else console.error('Registering commands failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

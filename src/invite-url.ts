// `npm run invite-url`: prints the link that adds the bot to a server with exactly the permissions it uses.
// Needs DISCORD_APPLICATION_ID, or DISCORD_TOKEN to look the application up; no Luma key.
import { Routes } from 'discord.js';
import { DiscordHttp } from './discord/transport/http.js';
import { loadConfigOrExit } from './config.js';
import { BOT_PERMISSIONS, botPermissions, inviteUrl } from './discord/invite.js';

async function main(): Promise<void> {
  const config = await loadConfigOrExit('invite');
  const applicationId =
    config.discordApplicationId ?? ((await new DiscordHttp({ apiUrl: config.discordApiUrl, connections: 1 }).restClient(config.discordToken).get(Routes.currentApplication())) as { id: string }).id;
  console.log(inviteUrl(applicationId, config.discordGuildId));
  console.log(`\nScopes: bot, applications.commands. Permissions (${botPermissions()}):`);
  for (const [name] of BOT_PERMISSIONS) console.log(`  ${name}`);
  if (config.discordGuildId) console.log(`\nThe link preselects DISCORD_GUILD_ID ${config.discordGuildId}.`);
}

main().catch((err: unknown) => {
  const status = (err as { status?: number }).status;
  if (status === 401) console.error('Discord rejected DISCORD_TOKEN (401). Copy the bot token again from the developer portal, or set DISCORD_APPLICATION_ID.');
  else console.error('Could not build the invite link:', err instanceof Error ? err.message : err);
  process.exit(1);
});

// The command list deploy-commands registers with Discord, pinned byte for byte: names, descriptions, options,
// choices and every translation. A change here changes what members see in Discord's command picker, so it is
// made on purpose: check the diff, then update the fixture with
//   npx vitest run test/i18n/command-json.test.ts -u
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';

describe('the registered command JSON', () => {
  let discord: FakeDiscord;
  beforeAll(async () => {
    discord = await startFakeDiscord();
  });
  afterAll(async () => {
    await discord.close();
  });

  it('is exactly what deploy-commands sent before (fixtures/commands.json)', async () => {
    await deployCommands(loadConfig({ DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl }, { purpose: 'deploy' }));
    const puts = discord.requestsTo('PUT', /\/commands$/);
    expect(puts).toHaveLength(1);
    await expect(`${JSON.stringify(puts[0]?.json, null, 2)}\n`).toMatchFileSnapshot('./fixtures/commands.json');
  });
});

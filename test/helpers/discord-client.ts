// A real discord.js client logged in to a fake Discord, for tests of the fake itself: it hands each interaction it
// receives to whatever the test set up for the next one.
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, type Interaction } from 'discord.js';
import type { FakeDiscord } from '../../dev/fakes/discord/server.js';

export interface TestClient {
  client: Client;
  /** Runs `fn` on the next interaction the client receives and resolves with its result. */
  nextInteraction<T>(fn: (interaction: Interaction) => Promise<T>): Promise<T>;
}

/** Logs a discord.js client in to `discord` (REST without retries, so a refusal surfaces at once) and waits for ready. */
export async function loginTestClient(discord: FakeDiscord): Promise<TestClient> {
  let handler: ((interaction: Interaction) => void) | undefined;
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl, timeout: 5_000, retries: 0 } });
  client.on(Events.InteractionCreate, (interaction) => handler?.(interaction));
  const ready = once(client, Events.ClientReady);
  await client.login(discord.token);
  await ready;
  return {
    client,
    nextInteraction: <T>(fn: (interaction: Interaction) => Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        handler = (interaction) => {
          handler = undefined;
          fn(interaction).then(resolve, reject);
        };
      }),
  };
}

// A credit pack is consumed at Discord exactly once, also with several processes: two quota services (two
// processes, as far as storage goes: separate Redis connections, one key namespace of this test's own) spend one
// member's pack at the same time and both try to consume it while Discord is slow to answer — one POST.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { DiscordPackConsumer } from '../../src/discord/premium.js';
import { DiscordResponder } from '../../src/discord/transport/responder.js';
import { QuotaService } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import { capturingLogger } from '../helpers/logs.js';
import { waitUntil } from '../helpers/wait.js';
import { openBackend, snowflake, type OpenBackend } from './backends.js';
import { makeJob, quotaConfig } from './fixtures.js';

const PACK = '1300000000000000003';

describe('credit packs on Redis with two processes', () => {
  const { logger } = capturingLogger();
  let backend: OpenBackend;
  let discord: FakeDiscord;

  beforeAll(async () => {
    backend = await openBackend('redis', logger);
    discord = await startFakeDiscord({ skus: [{ id: PACK, name: '4 images', kind: 'consumable' }] });
  });
  afterAll(async () => {
    await backend?.close();
    await discord?.close();
  });

  it('consumes a spent pack once, however many reservations spend it and however many processes try', async () => {
    const service = async (storage: OpenBackend['storage'] | Awaited<ReturnType<OpenBackend['second']>>) => {
      const responder = new DiscordResponder(discord.apiUrl, discord.token);
      const packs = new DiscordPackConsumer(responder, () => discord.applicationId, logger);
      return new QuotaService({ storage, logger, packs, config: quotaConfig({ quotaDefaultLimit: 0, premium: { user: undefined, guild: undefined, pack: { skuId: PACK, units: 4 } } }) });
    };
    const a = await service(backend.storage);
    const b = await service(await backend.second());
    const userId = snowflake();
    const bought = discord.purchase({ skuId: PACK, userId });
    const member: Requester = { userId, guildId: snowflake(), roleIds: [], userInstalled: false, purchases: [{ id: bought.id, skuId: PACK, userId }] };
    // Discord is slow to answer the consume: while the first is in flight, the other process tries too.
    discord.fault({ method: 'POST', path: /\/consume$/ }, { pass: true, delayMs: 300 });

    const reserve = (q: QuotaService) => q.reserve(makeJob({ userId, guildId: member.guildId }), member);
    await Promise.all([reserve(a), reserve(b), reserve(a), reserve(b)]);
    await Promise.all([a.consumeSpentPacks(userId), b.consumeSpentPacks(userId), a.consumeSpentPacks(userId), b.consumeSpentPacks(userId)]);
    await waitUntil(async () => (await a.premium.packs(userId)).every((p) => p.consumed && p.claimedAt === undefined), 'the pack marked consumed');

    expect(discord.requestsTo('POST', `/applications/${discord.applicationId}/entitlements/${bought.id}/consume`)).toHaveLength(1);
    expect(discord.consumeCalls.map((c) => c.entitlementId)).toEqual([bought.id]);
    // Spent: a fifth request is refused by both processes, and nothing more is consumed.
    await expect(reserve(a)).rejects.toThrow(/limit is 0/);
    await expect(reserve(b)).rejects.toThrow(/limit is 0/);
    await Promise.all([a.consumeSpentPacks(userId), b.consumeSpentPacks(userId)]);
    expect(discord.consumeCalls).toHaveLength(1);
  });
});

// The fake Discord's premium apps, driven by a real discord.js client: SKUs, entitlements on interactions, the
// ENTITLEMENT_* gateway events, test entitlements, consumption, Premium buttons — and Discord's refusals.
import { once } from 'node:events';
import { ButtonStyle, Client, ComponentType, DiscordAPIError, Events, GatewayIntentBits, type Entitlement, type Interaction } from 'discord.js';
import { Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../../../dev/fakes/discord/server.js';
import { waitUntil } from '../../helpers/wait.js';

const GUILD = '1200000000000000001';
const MEMBER = '400000000000000077';

let discord: FakeDiscord;
let client: Client;
const events: Array<{ kind: 'create' | 'update' | 'delete'; entitlement: Entitlement }> = [];
let lastInteraction: Interaction | undefined;

beforeAll(async () => {
  discord = await startFakeDiscord({
    guilds: [{ id: GUILD, name: 'Store Guild' }],
    skus: [
      { id: '1300000000000000001', name: 'Plus', kind: 'user-subscription' },
      { id: '1300000000000000002', name: 'Server Plus', kind: 'guild-subscription' },
      { id: '1300000000000000003', name: '100 images', kind: 'consumable' },
      { id: '1300000000000000004', name: 'Supporter badge', kind: 'durable' },
    ],
  });
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl, timeout: 5_000 } });
  client.on(Events.EntitlementCreate, (entitlement) => events.push({ kind: 'create', entitlement }));
  client.on(Events.EntitlementUpdate, (_old, entitlement) => events.push({ kind: 'update', entitlement }));
  client.on(Events.EntitlementDelete, (entitlement) => events.push({ kind: 'delete', entitlement }));
  client.on(Events.InteractionCreate, (interaction) => (lastInteraction = interaction));
  const ready = once(client, Events.ClientReady);
  await client.login(discord.token);
  await ready;
  await client.application?.fetch();
});

afterAll(async () => {
  await client?.destroy();
  await discord?.close();
});

/** The entitlement SKUs an interaction of the member carries. */
async function carried(user = MEMBER, guildId: string | null = GUILD): Promise<string[]> {
  const i = await discord.slashCommand({ name: 'quota', user: { id: user }, guildId });
  await waitUntil(() => lastInteraction?.id === i.id, 'the interaction');
  return [...(lastInteraction?.entitlements.values() ?? [])].map((e) => e.skuId).sort();
}

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: number | string; raw: unknown }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DiscordAPIError) return { status: err.status, code: err.code, raw: err.rawError };
    throw err;
  }
  throw new Error('expected Discord to refuse');
}

describe('premium apps in the fake Discord', () => {
  it("lists the application's SKUs, a subscription with its system-made group, as discord.js reads them", async () => {
    const skus = await client.application!.fetchSKUs();
    const plus = skus.find((s) => s.id === '1300000000000000001');
    expect(plus?.type).toBe(5);
    expect(plus?.flags.has('UserSubscription')).toBe(true);
    expect(skus.get('1300000000000000002')?.flags.has('GuildSubscription')).toBe(true);
    expect(skus.get('1300000000000000003')?.type).toBe(3);
    expect(skus.filter((s) => s.type === 6).size).toBe(2);
    expect((await refusal(client.rest.get(Routes.skus('1100000000000000009')))).code).toBe(50001);
  });

  it('creates and deletes test entitlements with their events, and carries them on interactions while they are active', async () => {
    const created = await client.application!.entitlements.createTest({ sku: '1300000000000000001', user: MEMBER });
    expect(created).toMatchObject({ skuId: '1300000000000000001', userId: MEMBER, type: 4, consumed: false });
    expect(created.startsTimestamp).toBeNull();
    await waitUntil(() => events.some((e) => e.kind === 'create' && e.entitlement.id === created.id), 'ENTITLEMENT_CREATE');
    const guildSub = await client.application!.entitlements.createTest({ sku: '1300000000000000002', guild: GUILD });
    expect(await carried()).toEqual(['1300000000000000001', '1300000000000000002']);
    // In DMs the server's entitlements are not carried; another member carries only the server's.
    expect(await carried(MEMBER, null)).toEqual(['1300000000000000001']);
    expect(await carried('400000000000000078')).toEqual(['1300000000000000002']);

    await client.application!.entitlements.deleteTest(created);
    await waitUntil(() => events.some((e) => e.kind === 'delete' && e.entitlement.id === created.id), 'ENTITLEMENT_DELETE');
    expect(await carried()).toEqual(['1300000000000000002']);
    await client.application!.entitlements.deleteTest(guildSub);
  });

  it("refuses what Discord refuses: a second active one, an unknown SKU, a bad owner type, deleting a real purchase", async () => {
    const first = await client.application!.entitlements.createTest({ sku: '1300000000000000004', user: MEMBER });
    expect((await refusal(client.application!.entitlements.createTest({ sku: '1300000000000000004', user: MEMBER }))).code).toBe(40074);
    expect((await refusal(client.application!.entitlements.createTest({ sku: '1300000000000000999', user: MEMBER }))).code).toBe(10027);
    const bad = await refusal(client.rest.post(Routes.entitlements(client.application!.id), { body: { sku_id: '1300000000000000004', owner_id: MEMBER, owner_type: 3 } }));
    expect(bad).toMatchObject({ status: 400, code: 50035, raw: { errors: { owner_type: { _errors: [{ code: 'BASE_TYPE_CHOICES' }] } } } });
    expect((await refusal(client.application!.entitlements.createTest({ sku: '1300000000000000001', guild: '1200000000000000999' }))).code).toBe(10004);
    const bought = discord.purchase({ skuId: '1300000000000000001', userId: '400000000000000079' });
    expect(bought).toMatchObject({ type: 8, ends_at: null });
    expect(bought.starts_at).not.toBeNull();
    expect((await refusal(client.application!.entitlements.deleteTest(bought.id))).code).toBe(40019);
    expect((await refusal(client.application!.entitlements.deleteTest('1499999999999999999'))).code).toBe(10029);
    await client.application!.entitlements.deleteTest(first);
  });

  it('consumes a consumable once (204, then ENTITLEMENT_UPDATE consumed), refuses other SKUs, and stops carrying it', async () => {
    const pack = discord.purchase({ skuId: '1300000000000000003', userId: MEMBER });
    expect(pack).toMatchObject({ type: 1, consumed: false });
    expect(await carried()).toContain('1300000000000000003');
    await client.application!.entitlements.consume(pack.id);
    await waitUntil(() => events.some((e) => e.kind === 'update' && e.entitlement.id === pack.id && e.entitlement.consumed), 'ENTITLEMENT_UPDATE');
    expect(await carried()).not.toContain('1300000000000000003');
    expect(discord.consumeCalls.filter((c) => c.entitlementId === pack.id)).toHaveLength(1);
    const sub = discord.purchase({ skuId: '1300000000000000001', userId: '400000000000000080' });
    expect((await refusal(client.application!.entitlements.consume(sub.id))).code).toBe(40018);
    expect((await refusal(client.application!.entitlements.consume('1499999999999999999'))).code).toBe(10029);
  });

  it('ends a subscription with ENTITLEMENT_UPDATE (ends_at), refunds with ENTITLEMENT_DELETE, and lists them with Discord’s filters', async () => {
    const user = '400000000000000081';
    const sub = discord.purchase({ skuId: '1300000000000000002', userId: user, guildId: GUILD });
    expect(sub.guild_id).toBe(GUILD);
    discord.endSubscription(sub.id);
    await waitUntil(() => events.some((e) => e.kind === 'update' && e.entitlement.id === sub.id && e.entitlement.endsTimestamp !== null), 'ENTITLEMENT_UPDATE');
    const item = discord.purchase({ skuId: '1300000000000000004', userId: user });
    discord.refundPurchase(item.id);
    await waitUntil(() => events.some((e) => e.kind === 'delete' && e.entitlement.id === item.id), 'ENTITLEMENT_DELETE');
    const mine = await client.application!.entitlements.fetch({ user, excludeEnded: false, cache: false });
    expect([...mine.keys()]).toEqual([sub.id]);
    const running = await client.application!.entitlements.fetch({ user, excludeEnded: true, cache: false });
    expect(running.size).toBe(0);
    expect((await refusal(client.rest.get(Routes.entitlements(client.application!.id), { query: new URLSearchParams({ limit: '101' }) }))).code).toBe(50035);
  });

  it("takes a Premium button with one of the application's SKUs, and refuses one with an unknown SKU or a label", async () => {
    const channel = discord.channelId ?? '';
    const row = (button: Record<string, unknown>) => ({ components: [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Premium, ...button }] }] });
    await client.rest.post(Routes.channelMessages(channel), { body: { content: 'Get more', ...row({ sku_id: '1300000000000000001' }) } });
    const unknown = await refusal(client.rest.post(Routes.channelMessages(channel), { body: row({ sku_id: '1300000000000000999' }) }));
    expect(unknown).toMatchObject({ status: 400, code: 50035, raw: { errors: { components: { 0: { components: { 0: { sku_id: {} } } } } } } });
    expect((await refusal(client.rest.post(Routes.channelMessages(channel), { body: row({ sku_id: '1300000000000000001', label: 'Buy' }) }))).code).toBe(50035);
    expect((await refusal(client.rest.post(Routes.channelMessages(channel), { body: row({}) }))).code).toBe(50035);
  });
});

// The operator's ceilings on in-memory storage with a manual clock: each server's daily ceiling (the default, the
// operator's own figure for a server, raised by the server's premium tier), the servers' share of the daily cap,
// which limit a refusal names, that a refusal charges nothing, and what /quota-admin show says about it.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { renderOverview } from '../../src/quota/render.js';
import { QuotaService, type QuotaConfig } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import { createMemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { makeJob, quotaConfig, refusal } from './fixtures.js';

const GUILD_A = '1200000000000000011';
const GUILD_B = '1200000000000000012';
const GUILD_SKU = '1300000000000000002';
let next = 1;
const member = (guildId: string | null, over: Partial<Requester> = {}): Requester => ({ userId: `5100000000000${String(next++).padStart(5, '0')}`, guildId, roleIds: [], userInstalled: false, ...over });

function world(over: Partial<Pick<Config, keyof QuotaConfig>> = {}) {
  const { logger, lines } = capturingLogger();
  const storage = createMemoryStorage(logger);
  const clock = new ManualClock('2026-12-06T12:00:00Z');
  const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 'unlimited', ...over }), now: () => clock.now() });
  const reserve = async (r: Requester, o: Partial<Parameters<typeof makeJob>[0]> = {}): Promise<JobRecord> => {
    const job = makeJob({ userId: r.userId, guildId: r.guildId, ...o });
    await quota.reserve(job, r);
    return job;
  };
  const spent = (place: string) => quota.placeSpentE4(place, '2026-12-06');
  return { quota, storage, clock, reserve, spent, lines };
}

describe("the operator's ceiling per server", () => {
  it("stops a server admin's unlimited at the ceiling, names it, and charges nothing for the refusal", async () => {
    const { reserve, spent } = world({ serverCapUsdPerDay: 0.1 });
    const m = member(GUILD_A);
    await reserve(m);
    await reserve(m); // $0.0808
    const err = await refusal(reserve(m));
    expect(err.options.code).toBe('quota_server_ceiling');
    expect(err.message).toContain("daily spending limit the bot's operator set for it");
    expect(err.message).toContain(`<t:${Date.parse('2026-12-07T00:00:00Z') / 1000}:R>`);
    expect(await spent(GUILD_A)).toBe(808);
    // Another server has its own ceiling.
    await reserve(member(GUILD_B));
    // In the member's language.
    const de = await refusal(reserve(member(GUILD_A, { locale: 'de' })));
    expect(de.message).toMatch(/Betreiber/);
  });

  it('counts what a request costs, references included, against the ceiling: a dearer one is refused where a cheap one fits', async () => {
    const { reserve } = world({ serverCapUsdPerDay: 0.13 });
    const m = member(GUILD_A);
    await reserve(m); // 0.0404
    expect((await refusal(reserve(m, { model: 'uni-1-max' }))).options.code).toBe('quota_server_ceiling'); // +0.10 > 0.13
    await reserve(m, { references: 9 }); // +0.0674 = 0.1078
  });

  it("uses the operator's own figure for a server instead of the default, and the default again once cleared", async () => {
    const { quota, reserve } = world({ serverCapUsdPerDay: 0.05 });
    await quota.ceilings.setOverride(GUILD_A, 1);
    const m = member(GUILD_A);
    for (let i = 0; i < 5; i++) await reserve(m);
    await quota.ceilings.setOverride(GUILD_A, undefined);
    expect((await refusal(reserve(m))).options.code).toBe('quota_server_ceiling');
    expect(await quota.ceilings.ceiling(GUILD_A, false)).toEqual({ usd: 0.05, source: 'default' });
    // An operator's figure also applies where there is no default.
    const { quota: q2, reserve: r2 } = world();
    await q2.ceilings.setOverride(GUILD_B, 0);
    expect((await refusal(r2(member(GUILD_B)))).options.code).toBe('quota_server_ceiling');
  });

  it('starts a fresh day at 00:00 UTC', async () => {
    const { reserve, clock } = world({ serverCapUsdPerDay: 0.05 });
    const m = member(GUILD_A);
    await reserve(m);
    await refusal(reserve(m));
    await clock.advance(12 * 3_600_000);
    await reserve(m);
  });

  it('gives the dollars back when Luma will not bill the job, and keeps them when it will', async () => {
    const { quota, reserve, spent } = world({ serverCapUsdPerDay: 1 });
    const m = member(GUILD_A);
    const refused = await reserve(m);
    await quota.refund(refused, 'enqueue_failed');
    expect(await spent(GUILD_A)).toBe(0);
    const billed = Object.assign(await reserve(m), { generationId: 'gen_1' });
    await quota.refund(billed, 'poll_timeout');
    expect(await spent(GUILD_A)).toBe(404);
  });

  it('raises the ceiling of a server holding the premium server tier', async () => {
    const premium = { user: undefined, guild: { skuId: GUILD_SKU, units: 5, capUsdPerDay: 0.2 }, pack: undefined };
    const { reserve } = world({ serverCapUsdPerDay: 0.05, premium });
    const m = member(GUILD_A);
    await reserve(m);
    const err = await refusal(reserve(m));
    // The refusal offers the server tier, which would lift it.
    expect(err.options.offers).toEqual([GUILD_SKU]);
    expect(err.message).toContain('A server subscription');
    const held = [{ id: '1400000000000000001', skuId: GUILD_SKU, guildId: GUILD_A }];
    for (let i = 0; i < 3; i++) await reserve({ ...m, purchases: held }); // $0.1616 of $0.20
    expect((await refusal(reserve({ ...m, purchases: held }))).options.offers).toBeUndefined();
  });

  it("shows admins the ceiling, where it comes from and today's spend, and says unlimited stops there", async () => {
    const { quota, reserve } = world({ serverCapUsdPerDay: 2.5, spendCapUsdPerDay: 40, spendCapServerShare: 25 });
    await reserve(member(GUILD_A), { model: 'uni-1-max' });
    const shown = renderOverview('en', await quota.overview(GUILD_A), quota.weights);
    expect(shown).toContain("Operator's ceiling: **$2.50** of spend per day (UTC), $0.10 spent today");
    expect(shown).toContain('unlimited means up to it');
    expect(shown).toContain("Share of the bot's daily budget: at most **$10.00** a day");
    await quota.ceilings.setOverride(GUILD_A, 5);
    expect(renderOverview('en', await quota.overview(GUILD_A), quota.weights)).toContain("**$5.00** of spend per day (UTC) (set for this server by the bot's operator)");
    const none = world();
    expect(renderOverview('en', await none.quota.overview(GUILD_B), none.quota.weights)).toContain("Operator's ceiling: none; $0.00 spent today");
  });
});

describe("the servers' share of the daily cap", () => {
  it('keeps one busy server from using up everybody’s day: two servers each get their share', async () => {
    // A cap of $0.20 with a 50 % share: $0.10 a server, two uni-1 images each.
    const { reserve } = world({ spendCapUsdPerDay: 0.2, spendCapServerShare: 50 });
    const a = member(GUILD_A);
    await reserve(a);
    await reserve(a);
    const err = await refusal(reserve(a));
    expect(err.options.code).toBe('quota_server_share');
    expect(err.message).toContain("used its share of the bot's daily budget");
    const b = member(GUILD_B);
    await reserve(b);
    await reserve(b);
    // Then the cap itself: $0.1616 spent, another $0.0404 fits the cap but not B's share.
    expect((await refusal(reserve(b))).options.code).toBe('quota_server_share');
  });

  it('counts DMs and user-installed use together as one place, with a refusal that says so', async () => {
    const { reserve } = world({ spendCapUsdPerDay: 0.2, spendCapServerShare: 50, quotaDmLimit: 'unlimited' });
    await reserve(member(null));
    await reserve(member(GUILD_A, { userInstalled: true }));
    const err = await refusal(reserve(member(null)));
    expect(err.options.code).toBe('quota_server_share');
    expect(err.message).toContain('DMs and user-installed use together');
  });

  it('refuses with the global cap once it is reached, whatever is left of a share', async () => {
    const { reserve, lines } = world({ spendCapUsdPerDay: 0.1, spendCapServerShare: 100 });
    await reserve(member(GUILD_A));
    await reserve(member(GUILD_B));
    const err = await refusal(reserve(member(GUILD_B)));
    expect(err.options.code).toBe('quota_spend_cap');
    expect(lines.filter((l) => l.msg.startsWith('OPERATOR: the daily spend cap'))).toHaveLength(1);
  });

  it('names the tighter of the ceiling and the share', async () => {
    const { quota } = world({ serverCapUsdPerDay: 3, spendCapUsdPerDay: 10, spendCapServerShare: 20 });
    expect(await quota.ceilings.limitFor({ kind: 'guild', guildId: GUILD_A }, false)).toEqual({ e4: 20_000, by: 'share', ceilingUsd: 3 });
    await quota.ceilings.setOverride(GUILD_A, 1);
    expect(await quota.ceilings.limitFor({ kind: 'guild', guildId: GUILD_A }, false)).toEqual({ e4: 10_000, by: 'ceiling', ceilingUsd: 1 });
    expect(await quota.ceilings.limitFor({ kind: 'personal' }, false)).toEqual({ e4: 20_000, by: 'share', ceilingUsd: undefined });
  });
});

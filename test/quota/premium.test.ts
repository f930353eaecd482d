// Premium tiers in the quota core, on in-memory storage with a manual clock: a member's tier and a server's tier
// (kept in step with what interactions and purchase events say), credit packs used after the free allowance and
// consumed once spent, what a refusal offers, what /quota shows, and purchases of SKUs the bot does not sell.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { UserFacingError } from '../../src/errors.js';
import type { JobRecord } from '../../src/jobs/types.js';
import type { Purchase } from '../../src/quota/premium.js';
import { renderStatus } from '../../src/quota/render.js';
import { QuotaService, type QuotaConfig } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import { createMemoryStorage } from '../../src/storage/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { makeJob, quotaConfig, refusal } from './fixtures.js';

const USER_SKU = '1300000000000000001';
const GUILD_SKU = '1300000000000000002';
const PACK_SKU = '1300000000000000003';
const PREMIUM: QuotaConfig['premium'] = {
  user: { skuId: USER_SKU, units: 4 },
  guild: { skuId: GUILD_SKU, units: 2, capUsdPerDay: undefined },
  pack: { skuId: PACK_SKU, units: 3 },
};
const GUILD = '1200000000000000021';
const OTHER_GUILD = '1200000000000000022';
let next = 1;
const id = () => `14000000000000${String(next++).padStart(5, '0')}`;

function world(over: Partial<Pick<Config, keyof QuotaConfig>> = {}) {
  const { logger, lines } = capturingLogger();
  const storage = createMemoryStorage(logger);
  const clock = new ManualClock('2026-12-06T12:00:00Z');
  const consumed: string[] = [];
  let refuseConsume = 0;
  const packs = {
    consume: async (purchaseId: string) => {
      if (refuseConsume > 0) {
        refuseConsume--;
        throw new Error('the store is down');
      }
      consumed.push(purchaseId);
    },
  };
  const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 1, quotaDmLimit: 1, premium: PREMIUM, ...over }), now: () => clock.now(), packs });
  const member = (over2: Partial<Requester> = {}): Requester => ({ userId: id(), guildId: GUILD, roleIds: [], userInstalled: false, purchases: [], ...over2 });
  const reserve = async (r: Requester, o: Partial<Parameters<typeof makeJob>[0]> = {}): Promise<JobRecord> => {
    const job = makeJob({ userId: r.userId, guildId: r.guildId, ...o });
    await quota.reserve(job, r);
    return job;
  };
  /** Waits until the background consumption settled (it runs after the reservation returns). */
  const settled = async (userId: string, packsConsumed: number) => {
    for (let i = 0; i < 100; i++) {
      const all = await quota.premium.packs(userId);
      if (all.filter((p) => p.consumed).length === packsConsumed && all.every((p) => p.claimedAt === undefined)) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('the spent packs were not settled');
  };
  return { quota, storage, clock, reserve, member, consumed, settled, lines, refuseConsume: (n: number) => (refuseConsume = n) };
}

const userSub = (userId: string, o: Partial<Purchase> = {}): Purchase => ({ id: id(), skuId: USER_SKU, userId, ...o });
const pack = (userId: string, o: Partial<Purchase> = {}): Purchase => ({ id: id(), skuId: PACK_SKU, userId, ...o });

describe("a member's tier", () => {
  it('adds its units to the allowance on every server and in DMs while the interaction carries it, and ends when it no longer does', async () => {
    const { reserve, member } = world();
    const m = member();
    const sub = userSub(m.userId);
    const subscribed = { ...m, purchases: [sub] };
    for (let i = 0; i < 5; i++) await reserve(subscribed); // 1 + 4
    expect((await refusal(reserve(subscribed))).options.code).toBe('quota_exceeded');
    // Everywhere: another server, and DMs.
    await reserve({ ...subscribed, guildId: OTHER_GUILD });
    await reserve({ ...subscribed, guildId: null });
    // The store no longer lists it (the subscription ended): back to the free allowance at once.
    expect((await refusal(reserve({ ...m, guildId: OTHER_GUILD, purchases: [] }))).options.code).toBe('quota_exceeded');
  });

  it('starts on a purchase event and ends on the event that ends it, without an interaction saying so', async () => {
    const { quota, reserve, member, clock } = world();
    const { purchases: _none, ...m } = member();
    const sub = userSub(m.userId);
    await quota.premium.apply(sub, clock.now());
    expect((await quota.status(m)).allowance).toMatchObject({ limit: 5, extra: { user: 4 } });
    await reserve(m);
    // Ended: ENTITLEMENT_UPDATE with ends_at in the past.
    await quota.premium.apply({ ...sub, endsAt: clock.now() - 1000 }, clock.now());
    expect((await quota.status(m)).allowance.limit).toBe(1);
    await quota.premium.apply(sub, clock.now());
    // Taken back: ENTITLEMENT_DELETE.
    await quota.premium.apply({ ...sub, deleted: true }, clock.now());
    expect((await refusal(reserve(m))).options.code).toBe('quota_exceeded');
  });

  it('does not lift a limit of 0 a server admin set, and offers nothing there', async () => {
    const { quota, reserve, member } = world();
    const m = member();
    await quota.settings.update(GUILD, (s) => (s.users[m.userId] = 0));
    const err = await refusal(reserve({ ...m, purchases: [userSub(m.userId)] }));
    expect(err.options.code).toBe('quota_zero');
    expect(err.options.offers).toBeUndefined();
    // The operator's default of 0 ("pay to use") is lifted.
    const paid = world({ quotaDefaultLimit: 0 });
    const p = paid.member();
    await paid.reserve({ ...p, purchases: [userSub(p.userId)] });
  });
});

describe("a server's tier", () => {
  it('adds its units for every member of that server only', async () => {
    const { reserve, member } = world();
    const sub: Purchase = { id: id(), skuId: GUILD_SKU, guildId: GUILD };
    for (const m of [member(), member()]) {
      for (let i = 0; i < 3; i++) await reserve({ ...m, purchases: [sub] }); // 1 + 2
      await refusal(reserve({ ...m, purchases: [sub] }));
      await reserve({ ...m, guildId: OTHER_GUILD, purchases: [] });
      expect((await refusal(reserve({ ...m, guildId: OTHER_GUILD, purchases: [] }))).options.offers).toEqual([USER_SKU, PACK_SKU, GUILD_SKU]);
    }
  });
});

describe('credit packs', () => {
  it('are used once the free allowance is, consumed at the store once spent, and counted for the operator', async () => {
    const { quota, reserve, member, consumed, settled, clock } = world();
    const m = member();
    const bought = pack(m.userId);
    const r = { ...m, purchases: [bought] };
    await reserve(r); // the free unit
    await reserve(r); // credit 1 of 3
    expect(consumed).toEqual([]);
    const max = await reserve(r, { model: 'uni-1-max' }).catch((e: unknown) => e);
    // uni-1-max costs 3 units: 2 credits left, not enough — and the refusal says so.
    expect((max as UserFacingError).message).toContain('You have 2 units of credit left');
    await reserve(r);
    await reserve(r); // credit 3 of 3: the pack is spent
    await settled(m.userId, 1);
    expect(consumed).toEqual([bought.id]);
    expect(await quota.premium.counts(clock.now())).toMatchObject({ packsBought: 1, packsConsumed: 1 });
    const err = await refusal(reserve(r));
    expect(err.options.offers).toEqual([USER_SKU, PACK_SKU, GUILD_SKU]);
  });

  it('pay the part of a request the allowance cannot, and give each part back to where it came from', async () => {
    const { quota, reserve, member, consumed } = world({ quotaDefaultLimit: 2 });
    const m = member();
    const r = { ...m, purchases: [pack(m.userId)] };
    await reserve(r);
    const job = await reserve(r, { model: 'uni-1-max' }); // 1 from the allowance, 2 from credits
    expect(job.quota?.charges.filter((c) => c.kind === 'member' || c.kind === 'credits').map((c) => [c.kind, c.amount])).toEqual([['member', 1], ['credits', 2]]);
    await quota.refund(job, 'generation_failed');
    const status = await quota.status(r);
    expect(status.used).toBe(1);
    expect(status.premium?.held.credits).toEqual({ bought: 3, used: 0 });
    expect(consumed).toEqual([]);
  });

  it('are consumed once when two reservations spend the last units at the same time', async () => {
    const { reserve, member, consumed, settled } = world({ quotaDefaultLimit: 0 });
    const m = member();
    const bought = pack(m.userId);
    const r = { ...m, purchases: [bought] };
    await reserve(r);
    await Promise.all([reserve(r), reserve(r)]);
    await settled(m.userId, 1);
    expect(consumed).toEqual([bought.id]);
  });

  it('try the store again at the next use when it refused the consumption', async () => {
    const { reserve, member, consumed, settled, refuseConsume, quota, lines } = world({ quotaDefaultLimit: 0 });
    const m = member();
    const first = pack(m.userId);
    refuseConsume(1);
    for (let i = 0; i < 3; i++) await reserve({ ...m, purchases: [first] });
    for (let i = 0; i < 100 && !lines.some((l) => l.msg.includes('the store did not take the spent credit pack')); i++) await new Promise((r) => setImmediate(r));
    await settled(m.userId, 0);
    expect(consumed).toEqual([]);
    expect(lines.some((l) => l.msg.includes('the store did not take the spent credit pack'))).toBe(true);
    // The member has no credit left, and the store still counts the pack as open: no second pack is offered.
    expect((await refusal(reserve({ ...m, purchases: [first] }))).options.offers).toEqual([USER_SKU, GUILD_SKU]);
    // A pack first seen already used or taken back is not credited.
    await quota.premium.apply(pack(m.userId, { consumed: true }), 0);
    await quota.premium.apply(pack(m.userId, { deleted: true }), 0);
    expect((await quota.status(m)).premium?.held.credits).toEqual({ bought: 3, used: 3 });
    const second = pack(m.userId);
    await reserve({ ...m, purchases: [first, second] });
    await settled(m.userId, 1);
    expect(consumed).toEqual([first.id]);
  });

  it('no longer count once the store took the purchase back', async () => {
    const { quota, reserve, member, clock } = world({ quotaDefaultLimit: 0 });
    const m = member();
    const bought = pack(m.userId);
    await reserve({ ...m, purchases: [bought] });
    await quota.premium.apply({ ...bought, deleted: true }, clock.now());
    expect((await quota.status(m)).premium?.held.credits).toEqual({ bought: 0, used: 0 });
    await refusal(reserve({ ...m, purchases: [] }));
  });
});

describe('what the store reports that the bot does not sell', () => {
  it('is ignored, with one log line per SKU', async () => {
    const { reserve, member, lines } = world();
    const m = member();
    const stranger: Purchase = { id: id(), skuId: '1399999999999999999', userId: m.userId };
    await reserve({ ...m, purchases: [stranger] });
    await refusal(reserve({ ...m, purchases: [stranger] }));
    expect(lines.filter((l) => l.msg.startsWith('premium: ignored a purchase of an SKU'))).toHaveLength(1);
    expect(lines.find((l) => l.msg.startsWith('premium: ignored'))).toMatchObject({ skuId: '1399999999999999999' });
  });

  it('costs nothing when no tier is sold: the member is refused as before, with nothing offered', async () => {
    const { reserve, member } = world({ premium: { user: undefined, guild: undefined, pack: undefined } });
    const m = member();
    await reserve({ ...m, purchases: [userSub(m.userId)] });
    const err = await refusal(reserve({ ...m, purchases: [userSub(m.userId)] }));
    expect(err.options.offers).toBeUndefined();
  });
});

describe('/quota with premium', () => {
  it("shows the member's tier, the server's, credits left and what each tier adds", async () => {
    const { quota, member, reserve } = world();
    const m = member();
    const r = { ...m, purchases: [userSub(m.userId), pack(m.userId)] };
    await reserve(r);
    const text = renderStatus('en', await quota.status(r));
    expect(text).toContain('Allowance: **5 units per day**');
    expect(text).toContain('⭐ Your premium membership adds **4 units** per day');
    expect(text).toContain('🎟️ Credits: **3 units** of 3 left');
    expect(text).toContain("Premium, in the bot's store:");
    expect(text).toContain('• Server premium: +2 units per day for every member of a server');
    expect(text).toContain('• Credit pack: 3 units');
    expect(text).not.toContain('• Membership');
    const ja = renderStatus('ja', await quota.status({ ...r, locale: 'ja' }));
    expect(ja).toContain('プレミアム会員');
  });
});

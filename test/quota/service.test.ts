// QuotaService on SQLite and Redis: reservations, commits and refunds, locks, period edges, admin resets, the
// spend cap, and two processes sharing Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { UserFacingError } from '../../src/errors.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { QuotaService, type QuotaConfig } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import { capturingLogger } from '../helpers/logs.js';
import { BACKENDS, openBackend, snowflake, type OpenBackend } from './backends.js';
import { makeJob, quotaConfig, refusal } from './fixtures.js';

const at = (iso: string): number => Date.parse(iso);
const unix = (iso: string): number => at(iso) / 1000;

describe.each(BACKENDS)('quotas on $name', ({ kind }) => {
  let backend: OpenBackend;
  const { logger, lines } = capturingLogger();

  beforeAll(async () => {
    backend = await openBackend(kind, logger);
  });
  afterAll(async () => {
    await backend?.close();
  });

  /** A service with its own clock; ids are fresh per call so tests never see each other's counters. */
  function setup(over: Partial<Pick<Config, keyof QuotaConfig>> = {}, start = '2026-05-06T12:00:00Z') {
    const clock = { t: at(start) };
    const quota = new QuotaService({ storage: backend.storage, logger, config: quotaConfig(over), now: () => clock.t });
    const guildId = snowflake();
    const member = (roleIds: string[] = [], userId = snowflake()): Requester => ({ userId, guildId, roleIds, userInstalled: false });
    const jobFor = (r: Requester, o: Partial<Parameters<typeof makeJob>[0]> = {}): JobRecord => makeJob({ userId: r.userId, guildId: r.guildId, ...o });
    const reserve = async (r: Requester, o: Partial<Parameters<typeof makeJob>[0]> = {}): Promise<JobRecord> => {
      const job = jobFor(r, o);
      await quota.reserve(job, r);
      return job;
    };
    const used = async (r: Requester) => (await quota.status(r)).used;
    return { clock, quota, guildId, member, jobFor, reserve, used, set: (iso: string) => (clock.t = at(iso)) };
  }

  it('reserves units up to the limit and then refuses, saying the limit and when it resets', async () => {
    const { reserve, member, used } = setup({ quotaDefaultLimit: 3 });
    const m = member();
    for (let i = 0; i < 3; i++) await reserve(m);
    const err = await refusal(reserve(m));
    expect(err.message).toContain('3 of 3 units today');
    expect(err.message).toContain('3 units per day');
    expect(err.message).toContain(`<t:${unix('2026-05-07T00:00:00Z')}:R>`);
    expect(err.options.code).toBe('quota_exceeded');
    expect(await used(m)).toBe(3);
  });

  it('records the reservation on the job with its period, units and price', async () => {
    const { reserve, member, guildId } = setup();
    const m = member();
    const job = await reserve(m, { references: 2 });
    expect(job.quota).toMatchObject({ scope: `guild:${guildId}`, userId: m.userId, guildId, units: 1, usd: 0.0464, periodKey: 'day:2026-05-06', state: 'reserved' });
  });

  it('starts a fresh day at 00:00 UTC and not a moment before', async () => {
    const { reserve, member, set } = setup({ quotaDefaultLimit: 1 }, '2026-05-06T00:00:00Z');
    const m = member();
    await reserve(m);
    set('2026-05-06T23:59:59.999Z');
    await refusal(reserve(m));
    set('2026-05-07T00:00:00Z');
    await expect(reserve(m)).resolves.toBeDefined();
  });

  it('starts a fresh week on Monday 00:00 UTC', async () => {
    const { reserve, member, set, quota, guildId } = setup({}, '2026-05-04T00:00:00Z');
    await quota.settings.update(guildId, (s) => {
      s.defaultLimit = 2;
      s.period = 'week';
    });
    const m = member();
    await reserve(m);
    set('2026-05-08T10:00:00Z'); // Friday
    await reserve(m);
    set('2026-05-10T23:59:59Z'); // Sunday night
    const err = await refusal(reserve(m));
    expect(err.message).toContain(`<t:${unix('2026-05-11T00:00:00Z')}:R>`);
    set('2026-05-11T00:00:00Z'); // Monday
    await reserve(m);
    await reserve(m);
    await refusal(reserve(m));
  });

  it('starts a fresh month on the 1st 00:00 UTC', async () => {
    const { reserve, member, set, quota, guildId } = setup({}, '2026-02-01T00:00:00Z');
    await quota.settings.update(guildId, (s) => {
      s.defaultLimit = 1;
      s.period = 'month';
    });
    const m = member();
    await reserve(m);
    set('2026-02-28T23:59:59Z');
    const err = await refusal(reserve(m));
    expect(err.message).toContain(`<t:${unix('2026-03-01T00:00:00Z')}:R>`);
    set('2026-03-01T00:00:00Z');
    await reserve(m);
  });

  it('gives a member the most generous of their roles, unlimited included', async () => {
    const { reserve, member, quota, guildId, used } = setup({ quotaDefaultLimit: 1 });
    const [small, big, vip] = [snowflake(), snowflake(), snowflake()];
    await quota.settings.update(guildId, (s) => {
      s.roles[small] = 2;
      s.roles[big] = 4;
      s.roles[vip] = 'unlimited';
    });
    const both = member([small, big]);
    for (let i = 0; i < 4; i++) await reserve(both);
    const err = await refusal(reserve(both));
    expect(err.message).toContain('4 units per day');

    const unlimited = member([small, vip]);
    for (let i = 0; i < 12; i++) await reserve(unlimited);
    expect(await used(unlimited)).toBe(12);

    const plain = member();
    await reserve(plain);
    await refusal(reserve(plain));
  });

  it('applies a limit set on the @everyone role, whose id is the server id', async () => {
    const { reserve, member, quota, guildId } = setup({ quotaDefaultLimit: 1 });
    await quota.settings.update(guildId, (s) => {
      s.roles[guildId] = 2;
    });
    const m = member();
    await reserve(m);
    await reserve(m);
    await refusal(reserve(m));
  });

  it("lets a member's override beat their roles: a lower number, zero, or unlimited", async () => {
    const { reserve, member, quota, guildId } = setup({ quotaDefaultLimit: 5 });
    const vip = snowflake();
    const capped = member([vip]);
    const blocked = member([vip]);
    const free = member();
    await quota.settings.update(guildId, (s) => {
      s.roles[vip] = 'unlimited';
      s.users[capped.userId] = 1;
      s.users[blocked.userId] = 0;
      s.users[free.userId] = 'unlimited';
    });
    await reserve(capped);
    await refusal(reserve(capped));
    const zero = await refusal(reserve(blocked));
    expect(zero.message).toContain('your limit is 0');
    expect(zero.options.code).toBe('quota_zero');
    for (let i = 0; i < 8; i++) await reserve(free);
  });

  it('counts uni-1-max at its weight and suggests uni-1 when fewer units are left', async () => {
    const { reserve, member, used } = setup({ quotaDefaultLimit: 4, quotaMaxWeight: 3 });
    const m = member();
    const job = await reserve(m, { model: 'uni-1-max' });
    expect(job.quota?.units).toBe(3);
    expect(await used(m)).toBe(3);
    const err = await refusal(reserve(m, { model: 'uni-1-max' }));
    expect(err.message).toContain('uni-1-max costs 3 units');
    expect(err.message).toContain('you have 1 of your 4 units per day left');
    expect(err.message).toContain('Use uni-1');
    await reserve(m, { model: 'uni-1' });
    expect(await used(m)).toBe(4);
  });

  it('caps the whole server with its total, unlimited members included, and says when it resets', async () => {
    const { reserve, member, quota, guildId, set } = setup({ quotaDefaultLimit: 10 });
    const free = member();
    await quota.settings.update(guildId, (s) => {
      s.serverTotal = 3;
      s.users[free.userId] = 'unlimited';
    });
    const [a, b] = [member(), member()];
    await reserve(a);
    await reserve(b);
    await reserve(free);
    const err = await refusal(reserve(a));
    expect(err.options.code).toBe('quota_server_total');
    expect(err.message).toContain('3 of the 3 units');
    expect(err.message).toContain(`<t:${unix('2026-05-07T00:00:00Z')}:R>`);
    await refusal(reserve(free));
    // A refused request leaves no trace in any counter.
    expect((await quota.overview(guildId)).serverTotalUsed).toBe(3);
    expect((await quota.status({ ...a, userInstalled: false })).used).toBe(1);
    set('2026-05-07T00:00:00Z');
    await reserve(a);
  });

  it('gives units back on refund, once, however often the refund comes', async () => {
    const { reserve, member, quota, used } = setup({ quotaDefaultLimit: 2 });
    const m = member();
    const job = await reserve(m);
    await reserve(m);
    const copy = structuredClone(job); // e.g. the record reloaded from storage for a Retry
    await quota.refund(job, 'generation_failed');
    expect(job.quota?.state).toBe('refunded');
    expect(await used(m)).toBe(1);
    await quota.refund(job, 'generation_failed');
    await quota.refund(copy, 'download_failed');
    expect(await used(m)).toBe(1);
    await reserve(m);
    await refusal(reserve(m));
  });

  it('gives units back after Luma accepted the job (commit, then a failure)', async () => {
    const { reserve, member, quota, used } = setup();
    const m = member();
    const job = await reserve(m);
    await quota.commit(job);
    expect(job.quota?.state).toBe('committed');
    await quota.refund(job, 'output_not_found');
    expect(job.quota?.state).toBe('refunded');
    expect(await used(m)).toBe(0);
  });

  it("refunds to the period the units came from, not the one that began since", async () => {
    const { reserve, member, quota, used, set } = setup({ quotaDefaultLimit: 2 }, '2026-05-06T23:59:00Z');
    const m = member();
    const late = await reserve(m);
    await reserve(m);
    set('2026-05-07T00:01:00Z');
    await reserve(m);
    await quota.refund(late, 'generation_failed');
    expect(await used(m)).toBe(1); // today's count is untouched
    set('2026-05-06T23:59:30Z'); // and yesterday's gave the unit back
    expect(await used(m)).toBe(1);
  });

  it('never lets a refund take a counter below zero after an admin reset', async () => {
    const { reserve, member, quota, used, guildId } = setup();
    const m = member();
    const job = await reserve(m);
    expect(await quota.resetUser(guildId, m.userId)).toBe(1);
    await quota.refund(job, 'generation_failed');
    expect(await used(m)).toBe(0);
  });

  it('resets one member without touching others', async () => {
    const { reserve, member, quota, used, guildId } = setup({ quotaDefaultLimit: 2 });
    const [a, b] = [member(), member()];
    await reserve(a);
    await reserve(a);
    await reserve(b);
    await refusal(reserve(a));
    await quota.resetUser(guildId, a.userId);
    expect(await used(a)).toBe(0);
    expect(await used(b)).toBe(1);
    await reserve(a);
  });

  it('uses the DM default in DMs and in user-installed use, ignoring the server settings', async () => {
    const { quota, guildId } = setup({ quotaDmLimit: 2, quotaDmPeriod: 'week', quotaDefaultLimit: 50 });
    await quota.settings.update(guildId, (s) => {
      s.defaultLimit = 50;
    });
    const userId = snowflake();
    const dm: Requester = { userId, guildId: null, roleIds: [], userInstalled: false };
    await quota.reserve(makeJob({ userId, guildId: null }), dm);
    // The same member using the bot as their own app inside a server shares the personal quota.
    const inServer: Requester = { userId, guildId, roleIds: [], userInstalled: true };
    const job = makeJob({ userId, guildId, userInstalled: true });
    await quota.reserve(job, inServer);
    expect(job.quota).toMatchObject({ scope: 'dm', guildId: null, periodKey: 'week:2026-05-04' });
    const err = await refusal(quota.reserve(makeJob({ userId, guildId: null }), dm));
    expect(err.message).toContain('in DMs and user-installed use');
    const status = await quota.status({ ...dm, userInstalled: false });
    expect(status).toMatchObject({ used: 2, remaining: 0, allowance: { limit: 2, period: 'week', source: { kind: 'personal' } } });
    // …and the server's own counter for that member is untouched.
    expect((await quota.status({ ...inServer, userInstalled: false })).used).toBe(0);
  });

  it('reports allowance, use, remaining units, reset time and costs for /quota', async () => {
    const { quota, reserve, member, guildId } = setup({ quotaMaxWeight: 2 });
    const role = snowflake();
    await quota.settings.update(guildId, (s) => {
      s.roles[role] = 6;
      s.serverTotal = 100;
    });
    const m = member([role]);
    await reserve(m, { model: 'uni-1-max' });
    const s = await quota.status({ ...m, userInstalled: false });
    expect(s).toMatchObject({
      allowance: { limit: 6, period: 'day', source: { kind: 'role', roleId: role } },
      used: 2,
      remaining: 4,
      resetAt: at('2026-05-07T00:00:00Z'),
      weights: { 'uni-1': 1, 'uni-1-max': 2 },
      serverTotal: { limit: 100, used: 2 },
    });
    expect(s.spendCapResetAt).toBeUndefined();
  });

  it('refuses past the daily spend cap, tells the operator once, and opens again at 00:00 UTC', async () => {
    const { reserve, member, set, quota } = setup({ quotaDefaultLimit: 100, spendCapUsdPerDay: 0.2 }, '2099-01-01T08:00:00Z');
    const before = lines.length;
    const m = member();
    await reserve(m, { model: 'uni-1-max' }); // 0.1000
    await reserve(m, { references: 1 }); // 0.0434 → 0.1434
    await reserve(m); // 0.0404 → 0.1838
    const err = await refusal(reserve(m)); // 0.2242 > 0.20
    expect(err.options.code).toBe('quota_spend_cap');
    expect(err.message).toContain('daily spending limit');
    expect(err.message).toContain(`<t:${unix('2099-01-02T00:00:00Z')}:R>`);
    await refusal(reserve(member()));
    const warnings = lines.slice(before).filter((l) => l.level === 40 && String(l.msg).includes('spend cap'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ capUsd: 0.2 });
    expect((await quota.status({ ...m, userInstalled: false })).spendCapResetAt).toBe(at('2099-01-02T00:00:00Z'));
    expect(await quota.spendToday()).toEqual({ usd: 0.1838, capUsd: 0.2 });
    set('2099-01-02T00:00:00Z');
    await reserve(m, { model: 'uni-1-max' });
  });

  it('gives the spend back with the units unless Luma made the image', async () => {
    const { reserve, member, quota } = setup({ quotaDefaultLimit: 100, spendCapUsdPerDay: 1 }, '2099-02-01T08:00:00Z');
    const m = member();
    const failed = await reserve(m, { model: 'uni-1-max' });
    await quota.refund(failed, 'generation_failed');
    expect((await quota.spendToday()).usd).toBe(0);
    const made = await reserve(m, { model: 'uni-1-max' });
    made.completedAt = Date.parse('2099-02-01T08:01:00Z');
    await quota.refund(made, 'download_failed');
    expect((await quota.spendToday()).usd).toBe(0.1);
    expect((await quota.status({ ...m, userInstalled: false })).used).toBe(0);
  });

  it('keeps the spend of every job Luma accepted unless Luma refunds its failure', async () => {
    const { reserve, member, quota, used } = setup({ quotaDefaultLimit: 100, spendCapUsdPerDay: 10 }, '2099-02-02T08:00:00Z');
    const m = member();
    const spent = async () => (await quota.spendToday()).usd;
    // Accepted by Luma, then lost (poll_timeout, not_found, a crash after submit, gave up on its age): Luma bills it.
    for (const reason of ['poll_timeout', 'not_found', 'internal', 'job_too_old', 'unknown_state', 'luma_unavailable']) {
      const job = await reserve(m);
      job.generationId = `gen_${reason}`;
      const before = await spent();
      await quota.refund(job, reason);
      expect(await spent(), reason).toBeCloseTo(before, 10);
    }
    expect(await used(m)).toBe(0);
    // Luma refunds these three itself: the operator's spend goes back too.
    for (const reason of ['generation_failed', 'output_not_found']) {
      const job = await reserve(m);
      job.generationId = `gen_${reason}`;
      const before = await spent();
      await quota.refund(job, reason);
      expect(await spent(), reason).toBeCloseTo(before - 0.0404, 10);
    }
    // Moderated: the member's unit counts (their prompt caused it), the operator is not billed.
    const moderated = await reserve(m);
    moderated.generationId = 'gen_moderated';
    const before = await spent();
    await quota.refund(moderated, 'content_moderated', { units: false });
    expect(await spent()).toBeCloseTo(before - 0.0404, 10);
    expect(await used(m)).toBe(1);
    // The log says what went back: the spend, not the member's unit.
    const logged = lines.filter((l) => l.jobId === moderated.id && l.msg !== 'quota reserved').map((l) => ({ msg: l.msg, units: l.units, usd: l.usd }));
    expect(logged).toEqual([{ msg: "operator's spend refunded; the member's units stay used", units: 0, usd: 0.0404 }]);
    // Refused before Luma took it (no generation): nothing billed, all of it back.
    const refused = await reserve(m);
    await quota.refund(refused, 'luma_unavailable');
    expect(await spent()).toBeCloseTo(before - 0.0404, 10);
    expect(await used(m)).toBe(1);
  });

  it('lets exactly 3 of 20 simultaneous requests through at a limit of 3', async () => {
    const { quota, member, jobFor, used } = setup({ quotaDefaultLimit: 3 });
    const m = member();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => quota.reserve(jobFor(m), m)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(17);
    for (const r of refused) expect(r.reason).toBeInstanceOf(UserFacingError);
    expect(await used(m)).toBe(3);
  });

  it('keeps the server total and the spend cap exact under simultaneous requests from many members', async () => {
    const { quota, member, jobFor, guildId } = setup({ quotaDefaultLimit: 5, spendCapUsdPerDay: 100 }, '2099-03-01T08:00:00Z');
    await quota.settings.update(guildId, (s) => {
      s.serverTotal = 7;
    });
    const members = Array.from({ length: 10 }, () => member());
    const results = await Promise.allSettled(members.flatMap((m) => [quota.reserve(jobFor(m), m), quota.reserve(jobFor(m), m)]));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
    expect((await quota.overview(guildId)).serverTotalUsed).toBe(7);
    expect((await quota.spendToday()).usd).toBeCloseTo(7 * 0.0404, 10);
  });

  it('shows the server settings with the defaults that apply where it set nothing', async () => {
    const { quota, guildId } = setup({ quotaDefaultLimit: 10, quotaDefaultPeriod: 'week' });
    const o = await quota.overview(guildId);
    expect(o).toMatchObject({ fallback: { limit: 10, period: 'week' }, period: 'week', resetAt: at('2026-05-11T00:00:00Z'), serverTotalUsed: 0 });
    await quota.settings.update(guildId, (s) => {
      s.period = 'month';
      s.users['123456789012345678'] = 'unlimited';
    });
    const o2 = await quota.overview(guildId);
    expect(o2.period).toBe('month');
    expect(o2.settings.users).toEqual({ '123456789012345678': 'unlimited' });
  });
});

describe('quotas across two processes sharing Redis', () => {
  it('lets exactly 3 of 20 simultaneous requests through when they arrive at two processes', async () => {
    const { logger } = capturingLogger();
    const backend = await openBackend('redis', logger);
    try {
      const other = await backend.second();
      const now = () => Date.parse('2026-05-06T12:00:00Z');
      const config = quotaConfig({ quotaDefaultLimit: 3 });
      const a = new QuotaService({ storage: backend.storage, logger, config, now });
      const b = new QuotaService({ storage: other, logger, config, now });
      const m: Requester = { userId: snowflake(), guildId: snowflake(), roleIds: [], userInstalled: false };
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).reserve(makeJob({ userId: m.userId, guildId: m.guildId }), m)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect((await a.status({ ...m, userInstalled: false })).used).toBe(3);
    } finally {
      await backend.close();
    }
  });
});

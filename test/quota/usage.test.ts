// The usage ledger on SQLite and Redis: charges by UTC day, member and model, refunds, bounds, and the report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaService } from '../../src/quota/service.js';
import { summarize, usageCsv } from '../../src/quota/usage-report.js';
import { MAX_MEMBERS_PER_DAY, OTHERS, UsageLedger, USAGE_KEEP_DAYS, usageKeys } from '../../src/quota/usage.js';
import type { Requester } from '../../src/quota/types.js';
import { capturingLogger } from '../helpers/logs.js';
import { BACKENDS, openBackend, snowflake, type OpenBackend } from './backends.js';
import { makeJob, quotaConfig } from './fixtures.js';

const at = (iso: string): number => Date.parse(iso);

describe.each(BACKENDS)('usage per day on $name', ({ kind }) => {
  let backend: OpenBackend;
  const { logger } = capturingLogger();
  beforeAll(async () => {
    backend = await openBackend(kind, logger);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('records each charge on its UTC day by member and model, and backs a refund out of the day it was taken on', async () => {
    const clock = { t: at('2026-05-06T23:59:00Z') };
    const quota = new QuotaService({ storage: backend.storage, logger, config: quotaConfig({ quotaDefaultLimit: 100 }), now: () => clock.t });
    const guildId = snowflake();
    const a: Requester = { userId: snowflake(), guildId, roleIds: [], userInstalled: false };
    const b: Requester = { userId: snowflake(), guildId, roleIds: [], userInstalled: false };
    await quota.reserve(makeJob({ userId: a.userId, guildId }), a);
    const late = makeJob({ userId: b.userId, guildId, model: 'uni-1-max' });
    await quota.reserve(late, b);
    clock.t = at('2026-05-07T00:01:00Z');
    await quota.reserve(makeJob({ userId: a.userId, guildId }), a);
    // Refunded on the 7th, taken on the 6th: the 6th gives it back; Luma never made it, so the dollars go back too.
    await quota.refund(late, 'generation_failed');
    await quota.refund(late, 'generation_failed');

    const rows = await quota.usageRows(guildId, 2);
    expect(rows).toEqual([
      { day: '2026-05-06', userId: a.userId, model: 'uni-1', units: 1, usdE4: 404, jobs: 1 },
      { day: '2026-05-07', userId: a.userId, model: 'uni-1', units: 1, usdE4: 404, jobs: 1 },
    ]);
    const summary = summarize(rows, 2, clock.t);
    expect(summary).toMatchObject({ days: ['2026-05-06', '2026-05-07'], units: 2, jobs: 2, members: [{ userId: a.userId, units: 2 }] });
    expect(usageCsv(rows, new Map([[a.userId, '=cmd|"x"']]))).toBe(
      `day,member_id,member,model,units,usd,requests\r\n2026-05-06,${a.userId},"'=cmd|""x""",uni-1,1,0.0404,1\r\n2026-05-07,${a.userId},"'=cmd|""x""",uni-1,1,0.0404,1\r\n`,
    );
  });

  it('keeps DMs and user-installed use out of a server’s figures', async () => {
    const quota = new QuotaService({ storage: backend.storage, logger, config: quotaConfig(), now: () => at('2026-05-06T12:00:00Z') });
    const guildId = snowflake();
    const m: Requester = { userId: snowflake(), guildId, roleIds: [], userInstalled: true };
    await quota.reserve(makeJob({ userId: m.userId, guildId, userInstalled: true }), m);
    expect(await quota.usageRows(guildId, 1)).toEqual([]);
  });

  it('is bounded: members beyond the daily cap are summed as others, and days past the kept window are not written', async () => {
    const ledger = new UsageLedger(backend.storage);
    const guildId = snowflake();
    const now = at('2026-05-06T12:00:00Z');
    const cell = { units: 1, usdE4: 404, jobs: 1 };
    // A day whose index already holds all but one of the members it may: the one record this test is about, written
    // directly (a thousand adds through the ledger take tens of seconds on Redis under load).
    await backend.storage.set(usageKeys.index(guildId, '2026-05-06'), Array.from({ length: MAX_MEMBERS_PER_DAY - 1 }, (_, i) => `m${i}`), 86_400_000);
    await ledger.add(guildId, '2026-05-06', 'last', 'uni-1', cell, now);
    await ledger.add(guildId, '2026-05-06', 'late-1', 'uni-1', cell, now);
    await ledger.add(guildId, '2026-05-06', 'late-2', 'uni-1', cell, now);
    await ledger.add(guildId, '2026-05-06', 'last', 'uni-1', cell, now);
    // A refund of an overflow member comes back out of "others".
    await ledger.add(guildId, '2026-05-06', 'late-1', 'uni-1', { units: -1, usdE4: -404, jobs: -1 }, now);
    const rows = await ledger.rows(guildId, 1, now);
    expect(rows.map((r) => r.userId)).toEqual(['last', OTHERS]);
    expect(rows.find((r) => r.userId === 'last')).toMatchObject({ units: 2, jobs: 2 });
    expect(rows.find((r) => r.userId === OTHERS)).toMatchObject({ units: 1, jobs: 1, usdE4: 404 });

    const old = new Date(now - (USAGE_KEEP_DAYS + 2) * 86_400_000).toISOString().slice(0, 10);
    await ledger.add(guildId, old, 'm0', 'uni-1', cell, now);
    // Asked for a window reaching past the kept days, the ledger has nothing there: the old day was not written.
    expect(await ledger.rows(guildId, USAGE_KEEP_DAYS + 3, now)).toHaveLength(2);
  });
});

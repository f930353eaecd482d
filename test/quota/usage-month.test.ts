// The month's usage CSV by server and member (`npm run usage`): its sums equal each server's /quota-admin usage CSV,
// the servers' spend counters (dollars) and the members' quota counters (units), over days, servers, DMs, refunds
// and a moderated image; and the script itself writes it from a SQLite file with no Discord token or Luma key.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { QuotaService } from '../../src/quota/service.js';
import { quotaKeys } from '../../src/quota/scope.js';
import { daysOfMonth } from '../../src/quota/spend-report.js';
import type { Requester } from '../../src/quota/types.js';
import { usageCsv } from '../../src/quota/usage-report.js';
import { createMemoryStorage, createStorage, type Storage } from '../../src/storage/index.js';
import { parseUsageArgs, usageForMonth } from '../../src/usage-cli.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { makeJob, quotaConfig } from './fixtures.js';

const A = '1200000000000000031';
const B = '1200000000000000032';
const members = ['5200000000000000001', '5200000000000000002', '5200000000000000003'];

/** A month of use: two servers and DMs over three days, uni-1-max and references, refunds billed and not, a moderated image. */
async function aMonthOfUse(storage: Storage, clock: { now(): number }, advance: (ms: number) => Promise<void>): Promise<QuotaService> {
  const { logger } = capturingLogger();
  const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 'unlimited', quotaDmLimit: 'unlimited' }), now: () => clock.now() });
  const who = (userId: string, guildId: string | null): Requester => ({ userId, guildId, roleIds: [], userInstalled: false });
  for (let day = 0; day < 3; day++) {
    for (const [i, userId] of members.entries()) {
      for (const guildId of [A, B, null]) {
        if (guildId === B && i === 2) continue;
        const job = makeJob({ userId, guildId, model: i === 1 ? 'uni-1-max' : 'uni-1', references: day });
        await quota.reserve(job, who(userId, guildId));
        if (i === 0 && guildId === A && day === 1) await quota.refund(job, 'enqueue_failed'); // not billed: everything back
        if (i === 2 && guildId === null && day === 2) await quota.refund(Object.assign(job, { generationId: 'g' }), 'poll_timeout'); // billed: units back, dollars kept
        if (i === 1 && guildId === A && day === 0) await quota.refund(Object.assign(job, { generationId: 'g' }), 'content_moderated', { units: false }); // units kept, dollars back
      }
    }
    await advance(86_400_000);
  }
  return quota;
}

/** Sums of a CSV's numeric columns by a key made of some columns. */
function sums(csv: string, key: (cells: string[]) => string, cols: { units: number; usd: number; requests: number }): Map<string, { units: number; usdE4: number; requests: number }> {
  const out = new Map<string, { units: number; usdE4: number; requests: number }>();
  for (const line of csv.trim().split('\r\n').slice(1)) {
    const c = line.split(',');
    const s = out.get(key(c)) ?? { units: 0, usdE4: 0, requests: 0 };
    s.units += Number(c[cols.units]);
    s.usdE4 += Math.round(Number(c[cols.usd]) * 10_000);
    s.requests += Number(c[cols.requests]);
    out.set(key(c), s);
  }
  return out;
}

describe('the month by server and member', () => {
  it("adds up to each server's /quota-admin usage CSV, the servers' spend counters and the members' counters", async () => {
    const { logger } = capturingLogger();
    const storage = createMemoryStorage(logger);
    const clock = new ManualClock('2026-12-05T09:00:00Z');
    const quota = await aMonthOfUse(storage, clock, (ms) => clock.advance(ms));
    const { csv, lines } = await usageForMonth(storage, '2026-12', clock.now());
    expect(csv.split('\r\n')[0]).toBe('day,server_id,member_id,model,units,usd,requests');
    expect(lines).toBeGreaterThan(10);

    const month = sums(csv, (c) => `${c[0]}|${c[1]}`, { units: 4, usd: 5, requests: 6 });
    const days = daysOfMonth('2026-12', clock.now());
    for (const place of [A, B, 'dm']) {
      // /quota-admin usage's CSV of the same server (DMs read the same way).
      const admin = sums(usageCsv(await quota.usageRows(place, 31), new Map()), (c) => `${c[0]}|${place}`, { units: 4, usd: 5, requests: 6 });
      for (const day of days) {
        const key = `${day}|${place}`;
        expect(month.get(key), key).toEqual(admin.get(key));
        // Dollars: the server's spend counter of the day.
        expect(month.get(key)?.usdE4 ?? 0, `${key} dollars`).toBe(await quota.placeSpentE4(place, day));
        // Units: the members' counters of the day.
        const scope = place === 'dm' ? ({ kind: 'personal' } as const) : ({ kind: 'guild', guildId: place } as const);
        let units = 0;
        for (const m of members) units += (await storage.get<number>(quotaKeys.usage(scope, m, `day:${day}`))) ?? 0;
        expect(month.get(key)?.units ?? 0, `${key} units`).toBe(units);
      }
    }
    // Nothing from another month.
    expect((await usageForMonth(storage, '2026-11', clock.now())).lines).toBe(0);
  });

  it('reads --month and --out, and refuses anything else', () => {
    const now = Date.parse('2026-12-09T10:00:00Z');
    expect(parseUsageArgs([], now)).toEqual({ month: '2026-12', out: undefined });
    expect(parseUsageArgs(['--month', '2026-11', '--out=u.csv'], now)).toEqual({ month: '2026-11', out: 'u.csv' });
    expect(() => parseUsageArgs(['--month', '2026-13'], now)).toThrow(/usage: npm run usage/);
    expect(() => parseUsageArgs(['--server', 'x'], now)).toThrow(/usage: npm run usage/);
  });

  it('is written by the script from the bot’s SQLite file, with no Discord token or Luma key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'usage-cli-'));
    try {
      const { logger } = capturingLogger();
      const url = `sqlite://${join(dir, 'bot.sqlite')}`;
      const storage = await createStorage(url, logger, { namespace: 'bot' });
      const clock = new ManualClock(Date.now() - 3 * 86_400_000);
      await aMonthOfUse(storage, clock, (ms) => clock.advance(ms));
      const month = new Date(Date.now()).toISOString().slice(0, 7);
      const expected = (await usageForMonth(storage, month, Date.now())).csv;
      await storage.close();
      const out = join(dir, 'month.csv');
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', STORAGE_URL: url };
      const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/usage-cli.ts', '--month', month, '--out', out], { env, cwd: new URL('../../', import.meta.url).pathname });
      expect(stderr).toMatch(new RegExp(`^${month}: \\d+ lines, \\d+ units, \\$[\\d.]+ at Luma's prices, written to `));
      expect(await readFile(out, 'utf8')).toBe(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

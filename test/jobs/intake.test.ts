// Accepting a job, on in-memory storage: the server's rules, the quota's reservation, the checks that cost
// downloads, the queue and the member's history — and every way it can be refused, charging nothing.
import { describe, expect, it } from 'vitest';
import { UserFacingError } from '../../src/errors.js';
import type { Place } from '../../src/guild-settings/model.js';
import { GuildRules } from '../../src/guild-settings/rules.js';
import { GuildPolicyStore } from '../../src/guild-settings/store.js';
import { Charges } from '../../src/jobs/charges.js';
import { MemberHistory } from '../../src/jobs/history.js';
import { Intake, type IntakeRequest } from '../../src/jobs/intake.js';
import { JobRecords } from '../../src/jobs/records.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { QuotaService } from '../../src/quota/service.js';
import { StorageError } from '../../src/storage/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { refusableStorage } from '../helpers/memory.js';
import { quotaConfig } from '../quota/fixtures.js';

const GUILD = '1000000000000000001';
const PLACE: Place = { channelId: '1200000000000000002', parentId: null, isThread: false, ageRestricted: false };

function world(limit = 2) {
  const { logger, lines } = capturingLogger();
  const { storage, refuse, allow } = refusableStorage(logger);
  const clock = new ManualClock();
  const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: limit }), now: () => clock.now() });
  const records = new JobRecords(storage, { logger, clock, retryDelaysMs: [] });
  const queued: JobRecord[] = [];
  const queue = {
    async enqueue(jobs: readonly JobRecord[]) {
      for (const job of jobs) await records.save(job, { newJob: true });
      queued.push(...jobs);
    },
  };
  const history = new MemberHistory(storage);
  const policies = new GuildPolicyStore(storage);
  const charges = new Charges(quota, logger, clock, [1000, 5000]);
  const intake = new Intake({ rules: new GuildRules(policies), quota, charges, queue, history, alarm: storage.alarm, logger, clock });
  const used = async (userId: string) => (await quota.status({ userId, guildId: GUILD, roleIds: [], userInstalled: false })).used;
  return { storage, refuse, allow, clock, quota, records, queued, history, policies, intake, used, lines };
}

let n = 0;
function request(o: Partial<IntakeRequest> & { prompt?: string } = {}): IntakeRequest {
  const userId = o.requester?.userId ?? `13000000000000000${String(++n).padStart(2, '0')}`;
  const prompt = o.prompt ?? 'a lighthouse at dusk';
  return {
    spec: {
      kind: 'imagine',
      request: { prompt, model: 'uni-1', type: 'image' },
      inputs: [],
      display: { prompt, model: 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, webSearch: false, references: 0 },
    },
    requester: { userId, guildId: GUILD, channelId: PLACE.channelId, userInstalled: false, locale: 'en-US' },
    roleIds: [],
    place: PLACE,
    replyTo: { route: 'test' },
    ...o,
  };
}

async function refusal(p: Promise<unknown>): Promise<UserFacingError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserFacingError);
  return err as UserFacingError;
}

describe('intake', () => {
  it('charges, stores, queues and lists a request in the member’s history, with their id as Luma’s user_id', async () => {
    const w = world();
    const req = request();
    const [job] = await w.intake.accept(req);
    if (!job) throw new Error('no job');
    expect(job.request.user_id).toBe(req.requester.userId);
    expect(job.requester).toEqual(req.requester);
    expect(job.replyTo).toEqual({ route: 'test' });
    expect(job.quota).toMatchObject({ units: 1, state: 'reserved' });
    expect(w.queued.map((j) => j.id)).toEqual([job.id]);
    expect((await w.records.get(job.id))?.step).toBe('queued');
    expect(await w.history.ids(GUILD, req.requester.userId)).toEqual([job.id]);
    expect(await w.used(req.requester.userId)).toBe(1);
  });

  it('refuses what the server’s rules forbid before anything is charged', async () => {
    const w = world();
    await w.policies.update(GUILD, (p) => p.blockedTerms.push('dragon'));
    const req = request({ prompt: 'a Dragon at sea' });
    const err = await refusal(w.intake.accept(req));
    expect(err.options.code).toBe('policy_term');
    expect(w.queued).toEqual([]);
    expect(await w.used(req.requester.userId)).toBe(0);
  });

  it('refuses past the member’s limit and queues nothing', async () => {
    const w = world(1);
    const req = request();
    await w.intake.accept(req);
    const err = await refusal(w.intake.accept(request({ requester: req.requester })));
    expect(err.options.code).toBe('quota_exceeded');
    expect(w.queued).toHaveLength(1);
    expect(await w.used(req.requester.userId)).toBe(1);
  });

  it('gives the unit back when a check after the reservation refuses (an animated GIF), and passes its refusal on', async () => {
    const w = world();
    const req = request({ precheck: () => Promise.reject(new UserFacingError('animated', { code: 'animated_gif' })) });
    const err = await refusal(w.intake.accept(req));
    expect(err.options.code).toBe('animated_gif');
    expect(w.queued).toEqual([]);
    expect(await w.used(req.requester.userId)).toBe(0);
  });

  it('answers "storage is unavailable" when storage refuses the reservation, charging nothing and telling the operator once', async () => {
    const w = world();
    w.refuse('set', /^quota:use:/);
    const req = request();
    const first = await refusal(w.intake.accept(req));
    const second = await refusal(w.intake.accept(request()));
    for (const err of [first, second]) {
      expect(err.options.code).toBe('storage_unavailable');
      expect(err.message).toContain('try again shortly');
    }
    expect(w.lines.filter((l) => l.msg.startsWith('OPERATOR: storage is failing'))).toHaveLength(1);
    w.allow();
    expect(await w.used(req.requester.userId)).toBe(0);
    expect(w.queued).toEqual([]);
  });

  it('gives the unit back when the job cannot be stored, and says storage is unavailable', async () => {
    const w = world();
    w.refuse('set', /^job:/);
    const req = request();
    const accepting = refusal(w.intake.accept(req));
    await w.clock.advance(250); // a new job's save is tried once more, a moment later
    const err = await accepting;
    expect(err.options.code).toBe('storage_unavailable');
    w.allow();
    expect(await w.used(req.requester.userId)).toBe(0);
    expect(w.queued).toEqual([]);
  });

  it('keeps trying to give the unit back in the background when storage refuses the refund too, until it lands', async () => {
    const w = world();
    w.refuse('set', /^job:/);
    w.refuse('set', /^quota:use:/, 2, 1); // the reservation's counter write lands; the refund's first two do not
    const req = request();
    const accepting = refusal(w.intake.accept(req));
    await w.clock.advance(250);
    expect((await accepting).options.code).toBe('storage_unavailable');
    w.allow();
    expect(await w.used(req.requester.userId)).toBe(1); // not yet given back
    await w.clock.advance(1000);
    expect(await w.used(req.requester.userId)).toBe(0);
    expect(w.lines.some((l) => l.msg === 'quota refund failed; retrying in the background')).toBe(true);
  });

  it('keeps the job when only its history entry cannot be written (a statistic, not the request)', async () => {
    const w = world();
    w.refuse('set', /^jobs:history:/);
    const req = request();
    const jobs = await w.intake.accept(req);
    expect(w.queued).toEqual(jobs);
    expect(w.lines.some((l) => l.msg === 'could not add the job to the member’s history')).toBe(true);
  });
  it('makes a request for several images one job each, tied by a group, reserved at once and listed once in the history', async () => {
    const w = world(5);
    const req = request({ count: 3 });
    const jobs = await w.intake.accept(req);
    expect(jobs).toHaveLength(3);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(3);
    const ids = jobs.map((j) => j.id);
    jobs.forEach((job, index) => {
      expect(job.group).toEqual({ id: jobs[0]?.group?.id, index, jobIds: ids });
      // Each image holds its own reservation of its own unit (and its own price against the server's spend), so a
      // refund gives back exactly one image's.
      expect(job.quota).toMatchObject({ units: 1, state: 'reserved' });
      expect(job.quota?.charges).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'member', amount: 1 }),
          expect.objectContaining({ kind: 'serverSpend', amount: 404 }),
        ]),
      );
    });
    expect(await w.used(req.requester.userId)).toBe(3);
    expect(await w.history.ids(GUILD, req.requester.userId)).toEqual([ids[0]]);
    // Each record is its own: its route (a token blanked once it ended) and request are not shared with the others.
    expect(jobs[1]?.replyTo).toEqual(jobs[0]?.replyTo);
    expect(jobs[1]?.replyTo).not.toBe(jobs[0]?.replyTo);
    expect(jobs[1]?.request).not.toBe(jobs[0]?.request);
    // One image given back: only its unit.
    const first = jobs[0] as JobRecord;
    await w.quota.refund(first, 'generation_failed');
    expect(await w.used(req.requester.userId)).toBe(2);
  });

  it('refuses a request for more images than the quota has left, saying how many would fit, and charges nothing', async () => {
    const w = world(3);
    const req = request();
    await w.intake.accept(req);
    const err = await refusal(w.intake.accept(request({ requester: req.requester, count: 4 })));
    expect(err.options.code).toBe('quota_exceeded');
    expect(err.message).toContain('4 images cost 4 units, and you have 2 of your');
    expect(err.message).toContain('Ask for 2 or fewer');
    expect(await w.used(req.requester.userId)).toBe(1);
    expect(w.queued).toHaveLength(1);
  });

  it('refuses what the server’s limits forbid (uni-1-max, several images) before anything is charged', async () => {
    const w = world();
    const limits = { check: async (_g: string | null, ask: { model: string; count: number }) => {
      if (ask.count > 1) throw new UserFacingError('one at a time here', { code: 'limit_count' });
    } };
    const intake = new Intake({ rules: { check: async () => undefined }, limits, quota: w.quota, charges: new Charges(w.quota, capturingLogger().logger, w.clock), queue: { enqueue: async () => undefined }, history: w.history, alarm: w.storage.alarm, logger: capturingLogger().logger, clock: w.clock });
    const req = request({ count: 2 });
    expect((await refusal(intake.accept(req))).options.code).toBe('limit_count');
    expect(await w.used(req.requester.userId)).toBe(0);
  });

  it('gives every image’s unit back when the request cannot be stored in full', async () => {
    const w = world(5);
    const req = request({ count: 4 });
    const failing = new Intake({ rules: { check: async () => undefined }, quota: w.quota, charges: new Charges(w.quota, capturingLogger().logger, w.clock), queue: { enqueue: () => Promise.reject(new StorageError('set', 'job:x', new Error('disk full'))) }, history: w.history, alarm: w.storage.alarm, logger: capturingLogger().logger, clock: w.clock });
    expect((await refusal(failing.accept(req))).options.code).toBe('storage_unavailable');
    expect(await w.used(req.requester.userId)).toBe(0);
  });
});

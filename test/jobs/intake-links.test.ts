// A request made again from an earlier one (Reroll, Retry, history's "send again") has its member images' links
// renewed by intake before anything is charged or queued; when an image can no longer be had, it is refused and
// nothing is charged, stored or sent.
import { describe, expect, it } from 'vitest';
import { GuildRules } from '../../src/guild-settings/rules.js';
import { GuildPolicyStore } from '../../src/guild-settings/store.js';
import { Charges } from '../../src/jobs/charges.js';
import { MemberHistory } from '../../src/jobs/history.js';
import type { ImageLinks, RenewedLink } from '../../src/jobs/image-links.js';
import { Intake, type IntakeRequest } from '../../src/jobs/intake.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { QuotaService } from '../../src/quota/service.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { refusableStorage } from '../helpers/memory.js';
import { quotaConfig } from '../quota/fixtures.js';

const GUILD = '1000000000000000001';
const USER = '1300000000000000001';
const OLD = 'https://cdn.discordapp.com/attachments/1/2/boat.png?ex=1&is=0&hm=00';

function world(answer: RenewedLink) {
  const { logger } = capturingLogger();
  const { storage } = refusableStorage(logger);
  const clock = new ManualClock();
  const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 5 }), now: () => clock.now() });
  const queued: JobRecord[] = [];
  const asked: string[][] = [];
  const links: ImageLinks = { renew: async (l) => (asked.push([...l]), new Map([[OLD, answer]])) };
  const intake = new Intake({
    rules: new GuildRules(new GuildPolicyStore(storage)),
    quota,
    charges: new Charges(quota, logger, clock, [1000]),
    queue: { enqueue: async (jobs) => void queued.push(...jobs) },
    history: new MemberHistory(storage),
    links,
    alarm: storage.alarm,
    logger,
    clock,
  });
  const used = async () => (await quota.status({ userId: USER, guildId: GUILD, roleIds: [], userInstalled: false })).used;
  return { intake, queued, asked, used };
}

function request(parentJobId?: string): IntakeRequest {
  return {
    spec: {
      kind: 'imagine',
      request: { prompt: 'a boat', model: 'uni-1', type: 'image', image_ref: [{ url: OLD }] },
      inputs: [{ role: 'ref', input: { url: OLD }, discordUrl: OLD, filename: 'boat.png' }],
      display: { prompt: 'a boat', model: 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, webSearch: false, references: 1 },
      ...(parentJobId ? { parentJobId } : {}),
    },
    requester: { userId: USER, guildId: GUILD, channelId: '1200000000000000002', userInstalled: false, locale: 'en-US' },
    roleIds: [],
    place: { channelId: '1200000000000000002', parentId: null, isThread: false, ageRestricted: false },
    replyTo: { route: 'test' },
  };
}

describe('intake of a request made again', () => {
  it('queues it with the renewed links, in the inputs and in what Luma gets', async () => {
    const w = world({ link: `${OLD}&renewed` });
    const [job] = await w.intake.accept(request('parent'));
    expect(w.asked).toEqual([[OLD]]);
    expect(job?.request.image_ref).toEqual([{ url: `${OLD}&renewed` }]);
    expect(job?.inputs[0]?.discordUrl).toBe(`${OLD}&renewed`);
    expect(w.queued).toHaveLength(1);
  });

  it('refuses before charging or queueing anything when an image is gone', async () => {
    const w = world({ lost: 'gone' });
    await expect(w.intake.accept(request('parent'))).rejects.toMatchObject({ options: { code: 'reference_gone' } });
    expect(w.queued).toHaveLength(0);
    expect(await w.used()).toBe(0);
  });

  it('leaves a new request’s links alone: they were just uploaded', async () => {
    const w = world({ lost: 'gone' });
    await w.intake.accept(request());
    expect(w.asked).toEqual([]);
    expect(w.queued).toHaveLength(1);
  });
});

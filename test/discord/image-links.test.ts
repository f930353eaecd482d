// Renewing the links of a request made again (Reroll, Retry, history): Discord's answer decides, and when Discord
// does not answer, only a link with time left is used; whatever cannot be had becomes a refusal before any POST.
import { describe, expect, it } from 'vitest';
import { DiscordImageLinks } from '../../src/discord/image-links.js';
import { renewImageLinks } from '../../src/jobs/image-links.js';
import type { JobSpec } from '../../src/jobs/create.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';

const CDN = 'https://cdn.discordapp.com';
const clock = new ManualClock();
const link = (name: string, expiresInMs: number) => `${CDN}/attachments/1/2/${name}?ex=${Math.floor((clock.now() + expiresInMs) / 1000).toString(16)}&is=0&hm=ab`;

function links(answer: (urls: readonly string[]) => Promise<Map<string, string>>) {
  const asked: string[][] = [];
  const l = new DiscordImageLinks(
    { refreshAttachmentUrls: async (urls) => (asked.push([...urls]), answer(urls)) },
    { origins: [CDN], clock, logger: capturingLogger().logger },
  );
  return { l, asked };
}

describe('DiscordImageLinks', () => {
  it('uses the renewed link, and calls a link Discord left out gone', async () => {
    const old = link('a.png', -3_600_000);
    const deleted = link('b.png', -3_600_000);
    const { l, asked } = links(async () => new Map([[old, link('a.png', 86_400_000)]]));
    const out = await l.renew([old, deleted, 'https://example.com/not-discord.png']);
    expect(asked).toEqual([[old, deleted]]);
    expect(out.get(old)).toEqual({ link: link('a.png', 86_400_000) });
    expect(out.get(deleted)).toEqual({ lost: 'gone' });
    expect(out.get('https://example.com/not-discord.png')).toEqual({ link: 'https://example.com/not-discord.png' });
  });

  it('when Discord does not answer, keeps a link with more than an hour left and gives up on an older one', async () => {
    const fresh = link('a.png', 5 * 3_600_000);
    const stale = link('b.png', 10 * 60_000);
    const { l } = links(async () => {
      throw new Error('503');
    });
    const out = await l.renew([fresh, stale]);
    expect(out.get(fresh)).toEqual({ link: fresh });
    expect(out.get(stale)).toEqual({ lost: 'unavailable' });
  });

  it('does not take an expired link back as renewed, nor a link off the CDN', async () => {
    const a = link('a.png', -1);
    const b = link('b.png', -1);
    const { l } = links(async () => new Map([[a, a], [b, 'https://evil.example/b.png']]));
    const out = await l.renew([a, b]);
    expect(out.get(a)).toEqual({ lost: 'unavailable' });
    expect(out.get(b)).toEqual({ lost: 'unavailable' });
  });
});

describe('renewImageLinks', () => {
  const old = `${CDN}/attachments/1/2/a.png?ex=1`;
  const spec = (): JobSpec => ({
    kind: 'imagine',
    request: { prompt: 'p', image_ref: [{ url: old }, { generation_id: 'g1' }] },
    inputs: [
      { role: 'ref', input: { url: old }, discordUrl: old, filename: 'a.png' },
      { role: 'ref', input: { generation_id: 'g1' }, filename: 'made.png' },
    ],
    display: { prompt: 'p', model: 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, webSearch: false, references: 2 } as JobSpec['display'],
    parentJobId: 'parent',
  });

  it('puts the renewed link in the inputs and in the request Luma gets', async () => {
    const out = await renewImageLinks(spec(), { renew: async () => new Map([[old, { link: `${old}&new` }]]) }, 'en-US');
    expect(out.request.image_ref).toEqual([{ url: `${old}&new` }, { generation_id: 'g1' }]);
    expect(out.inputs[0]).toMatchObject({ input: { url: `${old}&new` }, discordUrl: `${old}&new` });
  });

  it('refuses in the member’s language, saying what to do, when an image is gone or its link cannot be renewed now', async () => {
    await expect(renewImageLinks(spec(), { renew: async () => new Map([[old, { lost: 'gone' as const }]]) }, 'de')).rejects.toMatchObject({
      message: expect.stringContaining('nicht mehr auf Discord'),
      options: { code: 'reference_gone' },
    });
    await expect(renewImageLinks(spec(), { renew: async () => new Map([[old, { lost: 'unavailable' as const }]]) }, 'en-US')).rejects.toMatchObject({
      message: expect.stringContaining('try again in a few minutes'),
      options: { code: 'reference_unavailable' },
    });
  });
});

// The order of checks: the quota is consulted before any GIF is downloaded to be checked, and a GIF refused after
// the quota said yes gives the unit back. The real bot (in process) against the fakes.
import { afterEach, describe, expect, it } from 'vitest';
import { tinyGif } from '../../dev/fakes/png.js';
import { opt, privateAnswer, startHarness, type Harness } from '../helpers/harness.js';
import { delivered, newMember } from '../helpers/process.js';

describe('checks before cost', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const imagineWithGif = (harness: Harness, user: { id: string; username: string }, prompt: string, frames: number) => {
    const gif = harness.discord.addAttachment({ filename: 'loop.gif', contentType: 'image/gif', data: tinyGif(frames) });
    return harness.discord.slashCommand({ name: 'imagine', user, options: [opt.string('prompt', prompt), opt.attachment('reference1', gif.id)], attachments: [gif] });
  };

  it('refuses a member over quota without downloading their GIF', async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '0' } });
    const i = await imagineWithGif(h, newMember(), 'over quota with a gif', 1);
    expect(await privateAnswer(h, i)).toMatch(/quota|limit/i);
    expect(h.discord.requests.filter((r) => r.kind === 'cdn')).toHaveLength(0);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('gives the unit back when the GIF turns out to be animated', async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '1' } });
    const member = newMember();
    const refused = await imagineWithGif(h, member, 'animated after the quota', 3);
    expect(await privateAnswer(h, refused)).toContain('animated GIF');
    expect(h.luma.posts()).toHaveLength(0);
    // The one unit of the day is still there.
    const i = await h.discord.slashCommand({ name: 'imagine', user: member, options: [opt.string('prompt', 'the unit came back')] });
    expect(await delivered(h.discord, i, 'the unit came back', member)).toHaveLength(1);
  });
});

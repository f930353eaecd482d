// Result downloads: the bot fetches Luma's output URLs over HTTPS to public addresses only (or from LUMA_BASE_URL's
// own host, the local fake), whatever Luma's answer names. The real bot (in process) against the fakes.
import { afterEach, describe, expect, it } from 'vitest';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { closeScriptedServers, startScriptedServer } from '../helpers/http-server.js';
import { messageText } from '../helpers/message-text.js';

describe('result downloads', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await closeScriptedServers();
  });

  it('never fetches an output URL on another loopback host, and tells the member without charging them', async () => {
    // Something on the bot's own machine, answering to anyone who asks (a metadata service, an admin panel).
    const evil = await startScriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });
    const evilUrl = `${evil.origin}/latest/meta-data/result.png`;

    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '1' } });
    const { discord, luma } = h;
    luma.planNext({ hold: true });
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'ssrf: a harbour')] });
    await discord.waitFor(() => luma.generations().at(-1)?.state === 'processing', 15_000, 'the job at Luma');
    const id = luma.generations().at(-1)?.id ?? '';
    const completed = { id, created_at: new Date().toISOString(), model: 'uni-1', type: 'image', state: 'completed', failure_code: null, failure_reason: null, output: [{ type: 'image', url: evilUrl }] };
    luma.fault({ method: 'GET', path: `/v1/generations/${id}` }, ...Array.from({ length: 10 }, () => ({ status: 200, body: completed })));

    const failure = await discord.waitFor(() => {
      const m = discord.original(i.token);
      return messageText(m).includes('could not be made') ? m : undefined;
    }, 20_000, 'the failure message');
    expect(messageText(failure)).toMatch(/could not fetch it from Luma/);
    expect(evil.connections()).toBe(0);
    expect(h.logs.raw).not.toContain('meta-data/result.png?');

    // The unit came back: the day's only image can still be made.
    const again = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'after the refusal')] });
    await discord.waitFor(() => (discord.original(again.token)?.attachments.length ?? 0) > 0, 20_000, 'the next result');
  });
});

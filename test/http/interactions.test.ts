// INTERACTIONS=http end to end: the fake Discord POSTs signed interactions to the bot's /interactions (checking it
// first as Discord checks a new endpoint URL), round-robin over the workers as a load balancer would, and takes each
// answer as the interaction's callback. The workers share one Redis, as they would behind a load balancer.
import { afterEach, describe, expect, it } from 'vitest';
import { solidPng } from '../../dev/fakes/png.js';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';
import { delivered, imagine, killLeftoverBots, newMember, startBotProcess, type ProcessHarness } from '../helpers/process.js';

const red = solidPng(8, 8, [255, 0, 0]);

interface Workers {
  discord: FakeDiscord;
  luma: FakeLuma;
  bots: Harness[];
}

describe('HTTP interactions', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  let ns = '';
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  /** `count` bots in HTTP mode on one Redis, behind the fake's round-robin. */
  async function workers(count: number, env: Record<string, string> = {}): Promise<Workers> {
    const discord = await startFakeDiscord();
    const luma = await startFakeLuma();
    open.push(discord, luma);
    ns = testNamespace();
    const bots: Harness[] = [];
    for (let n = 0; n < count; n++) {
      const h = await startHarness({
        fakes: { discord, luma },
        env: { INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: discord.publicKey, HTTP_PORT: '0', STORAGE_URL: REDIS_URL, STORAGE_NAMESPACE: ns, JOB_LEASE_MS: '1500', ...env },
      });
      open.push(h);
      bots.push(h);
    }
    await discord.useInteractionsEndpoints(bots.map((b) => `${b.bot.healthServer?.url ?? ''}/interactions`));
    return { discord, luma, bots };
  }

  /** Which worker answered the interaction (its endpoint's place in the round-robin). */
  const workerOf = (w: Workers, interactionId: string) => {
    const d = w.discord.httpDeliveries.find((x) => x.interactionId === interactionId);
    return w.bots.findIndex((b) => `${b.bot.healthServer?.url ?? ''}/interactions` === d?.endpoint);
  };

  it('delivers /imagine acknowledged by the POST’s answer, with no gateway connection and no callback request', async () => {
    const w = await workers(1);
    const { discord } = w;
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a lighthouse over http')] });
    const result = await discord.waitFor(() => {
      const m = discord.original(i.token);
      return m && m.attachments.length > 0 ? m : undefined;
    }, 20_000, 'the result');
    expect(messageText(result)).toContain('a lighthouse over http');
    expect(discord.callbacks(i.id).map((c) => c.type)).toEqual([5]);
    expect(discord.httpDeliveries.find((d) => d.interactionId === i.id)).toMatchObject({ status: 200, late: false, callback: { status: 204 } });
    expect(discord.requestsTo('POST', /\/callback$/)).toHaveLength(0);
    expect(discord.gateway.liveSessions).toBe(0);
    expect(discord.requests.some((r) => r.path === '/gateway/bot')).toBe(false);
  });

  it('serves every kind of interaction across two workers: /imagine, a button, "Edit image" and its form', async () => {
    const w = await workers(2);
    const { discord, luma } = w;
    const resultOf = (token: string) =>
      discord.waitFor(() => {
        const m = discord.original(token);
        return m && m.attachments.length > 0 ? m : undefined;
      }, 20_000, 'a result');

    const made = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a red kite')] });
    const first = await resultOf(made.token);
    // The same signed interaction sent again, to the other worker (a replay): refused, no second job.
    const body = JSON.stringify(made.payload);
    const replay = await fetch(`${w.bots[1]?.bot.healthServer?.url ?? ''}/interactions`, { method: 'POST', headers: { 'content-type': 'application/json', ...discord.signInteraction(body) }, body });
    expect(replay.status).toBe(409);
    const reroll = customIdsOf(first).find((id) => id.startsWith('job:reroll:'));
    expect(reroll).toBeDefined();
    const click = await discord.button({ customId: reroll ?? '', message: { id: first.id } });
    await resultOf(click.token);

    const photo = discord.addAttachment({ filename: 'photo.png', contentType: 'image/png', data: red });
    const message = discord.addMessage({ content: 'look', attachments: [photo] });
    const menu = await discord.messageContextMenu({ name: 'Edit image', message });
    // The form is the answer to the command's POST.
    const modal = await discord.waitFor(() => discord.callbacks(menu.id)[0], 5000, 'the form');
    expect(modal.type).toBe(9);
    const submit = await discord.modalSubmit({ customId: (modal.data as { custom_id: string }).custom_id, fields: { prompt: 'make it blue' } });
    const edited = await resultOf(submit.token);
    expect(messageText(edited)).toContain('make it blue');

    // Round-robin: each interaction went to the other worker than the one before, and each was answered in time.
    expect([made, click, menu, submit].map((i) => workerOf(w, i.id))).toEqual([0, 1, 0, 1]);
    expect(discord.httpDeliveries.every((d) => d.status === 200 && !d.late)).toBe(true);
    expect(luma.posts().filter((p) => p.status === 201)).toHaveLength(3);
    expect(discord.requestsTo('POST', /\/callback$/)).toHaveLength(0);
  });

  it('refuses what Discord never sends with a clear 4xx and one log line each, and keeps serving', async () => {
    const w = await workers(1);
    const { discord } = w;
    const h = w.bots[0] as Harness;
    const url = `${h.bot.healthServer?.url ?? ''}/interactions`;
    const post = async (body: string | Buffer, headers: Record<string, string>) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: res.status, text: await res.text() };
    };
    const before = h.logs.lines.length;
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const cases = [
      { what: 'a body over the limit', res: await post(big, discord.signInteraction(big)), status: 413, error: /body over/ },
      { what: 'malformed JSON', res: await post('{"type": 2,', discord.signInteraction('{"type": 2,')), status: 400, error: /malformed JSON/ },
      {
        what: 'an unknown interaction type',
        res: await post('{"id":"1300000000000000001","token":"t","type":42}', discord.signInteraction('{"id":"1300000000000000001","token":"t","type":42}')),
        status: 400,
        error: /unknown interaction type/,
      },
      { what: 'no signature', res: await post('{"type":1}', {}), status: 401, error: /invalid request signature/ },
      { what: 'a body changed after signing', res: await post('{"type":1} ', discord.signInteraction('{"type":1}')), status: 401, error: /invalid request signature/ },
      { what: 'a replayed old request', res: await post('{"type":1}', discord.signInteraction('{"type":1}', Math.floor(Date.now() / 1000) - 3600)), status: 401, error: /stale timestamp/ },
    ];
    for (const c of cases) {
      expect({ what: c.what, status: c.res.status }).toEqual({ what: c.what, status: c.status });
      expect(c.res.text).toMatch(c.error);
    }
    const lines = h.logs.lines.slice(before);
    expect(lines.filter((l) => l.msg === 'interaction request refused')).toHaveLength(cases.length);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);

    // Still serving.
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'still serving')] });
    await discord.waitFor(() => (discord.original(i.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the result');
  });

  it('delivers in the channel once the interaction’s token has expired', async () => {
    const w = await workers(1);
    const { discord, luma } = w;
    luma.planNext({ hold: true });
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'after the token')] });
    await discord.waitFor(() => luma.generations().length === 1 || undefined, 10_000, 'the job at Luma');
    discord.expireToken(i.token);
    for (const g of luma.generations()) luma.release(g.id);
    const posted = await discord.waitFor(
      () => discord.channelMessages(discord.channelId ?? '').find((m) => m.attachments.length > 0 && messageText(m).includes('after the token')),
      20_000,
      'the result in the channel',
    );
    expect(messageText(posted)).toContain(`<@${discord.defaultUser.id}>`);
  });

  it('delivers a job once from the other worker when the one that took it is killed with -9', async () => {
    const discord = await startFakeDiscord();
    const luma = await startFakeLuma();
    open.push(discord, luma);
    ns = testNamespace();
    const env = { INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: discord.publicKey, HTTP_PORT: '0', STORAGE_URL: REDIS_URL, STORAGE_NAMESPACE: ns, JOB_LEASE_MS: '1500' };
    const procs: ProcessHarness[] = [];
    open.push({ close: async () => {
      for (const p of procs) await p.close();
      await killLeftoverBots();
    } });
    for (let n = 0; n < 2; n++) procs.push(await startBotProcess({ env, fakes: { discord, luma } }));
    const urls = procs.map((p) => {
      const line = p.lines.find((l) => l.msg === 'serving /interactions, /healthz and /metrics');
      return `http://127.0.0.1:${String(line?.port)}/interactions`;
    });
    await discord.useInteractionsEndpoints(urls);

    const member = newMember();
    luma.planNext({ hold: true });
    const i = await imagine(discord, member, 'taken over over http');
    await discord.waitFor(() => luma.generations().length === 1 || undefined, 15_000, 'the job at Luma');
    // Its POST's answer saved: the job is polling (a kill before that is the documented window of a second POST).
    await discord.waitFor(() => messageText(discord.original(i.token)).includes('Generating') || undefined, 15_000, 'the job polling');
    expect(discord.httpDeliveries.find((d) => d.interactionId === i.id)?.endpoint).toBe(urls[0]);
    expect((await procs[0]?.kill('SIGKILL'))?.signal).toBe('SIGKILL');
    await procs[1]?.bot.waitForLog((l) => l.msg === 'took over jobs whose process stopped renewing its lease', 20_000, 'the takeover');
    for (const g of luma.generations()) luma.release(g.id);
    expect(await delivered(discord, i, 'taken over over http', member, 30_000)).toHaveLength(1);
    expect(luma.posts().filter((p) => p.status === 201)).toHaveLength(1);
  }, 120_000);
});

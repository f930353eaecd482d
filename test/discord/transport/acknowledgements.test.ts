// Tests src/discord/acknowledgements.ts: starting a job waits for the burst's acknowledgements, never for long.
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiscordAPIError, type RepliableInteraction } from 'discord.js';
import { Agent } from 'undici';
import { Acknowledgements } from '../../../src/discord/transport/acknowledgements.js';
import { startScriptedServer, type ScriptedServer } from '../../helpers/http-server.js';

/** For the bookkeeping tests, which send nothing. */
const NO_TRANSPORT = { apiUrl: 'http://127.0.0.1:9/api', dispatcher: new Agent() };

describe('Acknowledgements: who waits for whom', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const state = (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    return () => done;
  };

  it('lets work start at once when nothing waits for an acknowledgement', async () => {
    const acks = new Acknowledgements(NO_TRANSPORT);
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(true);
  });

  it('holds work back until every arrived interaction is acknowledged', async () => {
    const acks = new Acknowledgements(NO_TRANSPORT);
    acks.arrived('1');
    acks.arrived('2');
    const idle = state(acks.idle());
    acks.settled('1');
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(false);
    expect(acks.count).toBe(1);
    acks.settled('2');
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(true);
    expect(acks.count).toBe(0);
  });

  it('stops counting an interaction never acknowledged once Discord has dropped it (3 s)', async () => {
    const acks = new Acknowledgements(NO_TRANSPORT, { maxWaitMs: 60_000 });
    acks.arrived('1');
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(2999);
    expect(idle()).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(idle()).toBe(true);
    expect(acks.count).toBe(0);
  });

  it('never holds work back longer than maxWaitMs, however busy', async () => {
    const acks = new Acknowledgements(NO_TRANSPORT, { maxWaitMs: 500 });
    let n = 0;
    // A steady stream: always one interaction waiting for its acknowledgement.
    const stream = setInterval(() => acks.arrived(String(n++)), 100);
    acks.arrived(String(n++));
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(499);
    expect(idle()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(idle()).toBe(true);
    clearInterval(stream);
  });
});

describe('Acknowledgements.defer', () => {
  let server: ScriptedServer | undefined;
  const agent = new Agent({ connections: 2 });
  afterAll(() => agent.close());
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const interaction = () => ({ id: '123456789012345678', token: 'tok-en', deferred: false, ephemeral: null }) as unknown as RepliableInteraction;
  const json = (status: number, body: unknown) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('posts the deferral to the callback route and marks the interaction deferred, privately when asked', async () => {
    server = await startScriptedServer((req, res) => (req.method === 'POST' ? res.writeHead(204).end() : res.writeHead(405).end()));
    const statuses: number[] = [];
    const acks = new Acknowledgements({ apiUrl: `${server.origin}/api`, dispatcher: agent, onResponse: (s) => statuses.push(s) });
    const i = interaction();
    acks.arrived(i.id);
    await acks.defer(i, { ephemeral: true });
    expect(server.seen[0]?.url).toBe('/api/v10/interactions/123456789012345678/tok-en/callback');
    expect(JSON.parse(server.seen[0]?.body ?? '')).toEqual({ type: 5, data: { flags: 64 } });
    expect(server.seen[0]?.headers['user-agent']).toMatch(/^DiscordBot \(/);
    expect([i.deferred, i.ephemeral]).toEqual([true, true]);
    expect(statuses).toEqual([204]);
    expect(acks.count).toBe(0);
  });

  it("throws Discord's refusal as discord.js would (10062: the interaction expired), without a retry", async () => {
    server = await startScriptedServer(json(404, { message: 'Unknown interaction', code: 10062 }));
    const acks = new Acknowledgements({ apiUrl: `${server.origin}/api`, dispatcher: agent });
    const i = interaction();
    acks.arrived(i.id);
    const err = await acks.defer(i).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(10062);
    expect(i.deferred).toBe(false);
    expect(server.seen).toHaveLength(1);
    expect(acks.count).toBe(0);
  });

  type Answer = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => unknown;
  it.each<[string, Answer, Answer]>([
    ['after a 5xx, and takes "already acknowledged" as the first having arrived', json(502, { message: 'Bad gateway' }), json(400, { message: 'Interaction has already been acknowledged.', code: 40060 })],
    ["after waiting out a 429's retry_after", json(429, { message: 'You are being rate limited.', retry_after: 0.05, global: false }), (_req, res) => res.writeHead(204).end()],
    ['when the connection breaks before an answer', (req) => req.socket.destroy(), (_req, res) => res.writeHead(204).end()],
  ])('sends once more %s', async (_name, first, second) => {
    server = await startScriptedServer((req, res, n) => (n === 1 ? first(req, res) : second(req, res)));
    const acks = new Acknowledgements({ apiUrl: `${server.origin}/api`, dispatcher: agent });
    const i = interaction();
    await acks.defer(i);
    expect(server.seen).toHaveLength(2);
    expect(i.deferred).toBe(true);
  });
});

// Discord's request signatures (Ed25519 over timestamp + body) and the POST /interactions handler on its own: what
// it refuses, PING, and the answer that is the interaction's first response.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InteractionSigner } from '../../../dev/fakes/discord/http-endpoint.js';
import { interactionEndpoint, type RawInteraction } from '../../../src/discord/http-interactions/endpoint.js';
import { LocalReplayGuard } from '../../../src/discord/http-interactions/replays.js';
import { checkSignature, discordPublicKey, MAX_TIMESTAMP_SKEW_MS } from '../../../src/discord/http-interactions/signature.js';
import { FirstResponses, jsonFirstResponse } from '../../../src/discord/transport/first-response.js';
import { capturingLogger } from '../../helpers/logs.js';

const NOW = 1_790_000_000_000;
const seconds = (ms: number) => Math.floor(ms / 1000);

describe('the signature check', () => {
  const signer = new InteractionSigner();
  const key = discordPublicKey(signer.publicKey);
  const body = Buffer.from('{"type":1}');
  const signed = (b: Buffer | string, at = seconds(NOW)) => {
    const h = signer.headers(b, at);
    return { signature: h['x-signature-ed25519'], timestamp: h['x-signature-timestamp'] };
  };

  it('accepts a request Discord signed, just now', () => {
    expect(checkSignature(key, { ...signed(body), body }, NOW)).toBeUndefined();
  });

  it('refuses a bad signature: another key’s, a forged one, or one that is not hex', () => {
    const other = new InteractionSigner();
    const h = other.headers(body, seconds(NOW));
    expect(checkSignature(key, { signature: h['x-signature-ed25519'], timestamp: h['x-signature-timestamp'], body }, NOW)).toBe('bad signature');
    expect(checkSignature(key, { signature: '0'.repeat(128), timestamp: String(seconds(NOW)), body }, NOW)).toBe('bad signature');
    expect(checkSignature(key, { signature: 'zz', timestamp: String(seconds(NOW)), body }, NOW)).toBe('bad signature');
  });

  it('refuses a request without a signature or a timestamp', () => {
    const { signature, timestamp } = signed(body);
    expect(checkSignature(key, { signature: undefined, timestamp, body }, NOW)).toBe('missing signature');
    expect(checkSignature(key, { signature, timestamp: undefined, body }, NOW)).toBe('missing signature');
  });

  it('refuses a body changed after signing, and a timestamp changed after signing', () => {
    const { signature, timestamp } = signed(body);
    expect(checkSignature(key, { signature, timestamp, body: Buffer.from('{"type":2}') }, NOW)).toBe('bad signature');
    expect(checkSignature(key, { signature, timestamp: String(Number(timestamp) + 1), body }, NOW)).toBe('bad signature');
  });

  it('refuses a signed request whose timestamp is far from now, either way (a replay, or a clock far off)', () => {
    const old = NOW - MAX_TIMESTAMP_SKEW_MS - 1000;
    const ahead = NOW + MAX_TIMESTAMP_SKEW_MS + 1000;
    expect(checkSignature(key, { ...signed(body, seconds(old)), body }, NOW)).toBe('stale timestamp');
    expect(checkSignature(key, { ...signed(body, seconds(ahead)), body }, NOW)).toBe('stale timestamp');
    expect(checkSignature(key, { ...signed(body, seconds(NOW - 5000)), body }, NOW)).toBeUndefined();
  });

  it('takes only a 32-byte key in hex', () => {
    expect(() => discordPublicKey('abc')).toThrow(/64 hex digits/);
  });
});

describe('POST /interactions', () => {
  const signer = new InteractionSigner();
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function endpoint(dispatch: (i: RawInteraction, responses: FirstResponses) => boolean, deadlineMs = 3000) {
    const { logger, lines } = capturingLogger();
    const responses = new FirstResponses();
    const replays = new LocalReplayGuard(() => Date.now());
    const handle = interactionEndpoint({ publicKey: discordPublicKey(signer.publicKey), responses, dispatch: (i) => dispatch(i, responses), replays, clock: { now: () => Date.now() }, logger, deadlineMs });
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/interactions`;
    const post = async (payload: unknown) => {
      const body = JSON.stringify(payload);
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signer.headers(body, seconds(Date.now())) }, body });
      return { status: res.status, json: (await res.json()) as unknown };
    };
    return { post, lines, responses };
  }

  it('answers a PING with a PONG, without handing it to the bot', async () => {
    const dispatched: RawInteraction[] = [];
    const { post } = await endpoint((i) => dispatched.push(i) > 0);
    expect(await post({ id: '1', token: 'x', type: 1 })).toEqual({ status: 200, json: { type: 1 } });
    expect(dispatched).toEqual([]);
  });

  it('answers with the interaction’s first response, whenever the bot gives it', async () => {
    const { post } = await endpoint((i, responses) => {
      setTimeout(() => void responses.answer(i.id, jsonFirstResponse({ type: 5, data: { flags: 64 } }), 'route'), 20);
      return true;
    });
    expect(await post({ id: '1300000000000000001', token: 'tok', type: 2, data: { name: 'imagine' } })).toEqual({ status: 200, json: { type: 5, data: { flags: 64 } } });
  });

  it('answers 503 when the bot gives no first response in time, and a late one finds the request gone', async () => {
    // What the transport does with the late answer: undefined = not written into the POST (sent over REST instead).
    let late: 'written' | 'over REST' | undefined;
    const { post, lines, responses } = await endpoint((i, r) => {
      setTimeout(() => (late = r.answer(i.id, jsonFirstResponse({ type: 5 }), 'route') ? 'written' : 'over REST'), 200);
      return true;
    }, 50);
    expect((await post({ id: '1300000000000000002', token: 'tok', type: 3, data: { custom_id: 'x' } })).status).toBe(503);
    expect(lines.filter((l) => l.msg === 'interaction not acknowledged in time')).toHaveLength(1);
    await expect.poll(() => late).toBe('over REST');
    expect(responses.size).toBe(0);
  });

  it('answers 503 while the bot takes no interactions (shutting down)', async () => {
    const { post } = await endpoint(() => false);
    expect((await post({ id: '1300000000000000003', token: 'tok', type: 2, data: {} })).status).toBe(503);
  });

  it('refuses an interaction without an id or token', async () => {
    const { post } = await endpoint(() => true);
    expect(await post({ type: 2 })).toEqual({ status: 400, json: { error: 'interaction without an id or token' } });
  });

  it('handles an interaction once: the same signed request again is refused with 409', async () => {
    let dispatched = 0;
    const { post } = await endpoint((i, r) => {
      dispatched++;
      void r.answer(i.id, jsonFirstResponse({ type: 5 }), 'route');
      return true;
    });
    const interaction = { id: '1300000000000000004', token: 'tok', type: 2, data: { name: 'imagine' } };
    expect((await post(interaction)).status).toBe(200);
    expect(await post(interaction)).toEqual({ status: 409, json: { error: 'interaction already received' } });
    expect(dispatched).toBe(1);
  });
});

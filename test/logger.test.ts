// The logger: what the one error serializer keeps of discord.js errors, and what no log line holds.
import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createLogger, routeOf } from '../src/logger.js';
import { LogCapture } from './helpers/logs.js';

const TOKEN = `aW50ZXJhY3Rpb246${'x'.repeat(120)}`;

function logger() {
  const logs = new LogCapture();
  return { logs, log: createLogger({ logLevel: 'debug', logFormat: 'json' }, logs.stream) };
}

describe('the error serializer', () => {
  it('keeps method, route without the token, status, code and Discord’s message of a refused upload — not its body or file', async () => {
    const image = Buffer.alloc(200_000, 7);
    const err = new DiscordAPIError(
      { message: 'Invalid Form Body', code: 50035, errors: {} },
      50035,
      400,
      'PATCH',
      `https://discord.com/api/v10/webhooks/1100000000000000001/${TOKEN}/messages/%40original?wait=true`,
      { body: { content: 'hi', attachments: [{ id: 0, filename: 'luma.png' }] }, files: [{ name: 'luma.png', data: image }] },
    );
    const { logs, log } = logger();
    log.warn({ err }, 'delivery failed');
    await expect.poll(() => logs.lines.length).toBe(1);
    const e = logs.lines[0]!.err as Record<string, unknown>;
    expect(e).toMatchObject({ type: 'DiscordAPIError', method: 'PATCH', status: 400, code: 50035, discordMessage: 'Invalid Form Body' });
    expect(e.route).toBe('/webhooks/1100000000000000001/:token/messages/@original');
    expect(logs.raw).not.toContain(TOKEN);
    expect(logs.raw).not.toContain('requestBody');
    expect(logs.raw.length).toBeLessThan(16 * 1024);
  });

  it('writes bytes as their length and caps long strings, leaving the caller’s object alone', async () => {
    const fields = { bytes: Buffer.alloc(100_000), text: 'y'.repeat(100_000) };
    const { logs, log } = logger();
    log.info(fields, 'big fields');
    await expect.poll(() => logs.lines.length).toBe(1);
    expect(logs.lines[0]!.bytes).toBe('[100000 bytes]');
    expect(String(logs.lines[0]!.text).length).toBeLessThan(5000);
    expect(Buffer.isBuffer(fields.bytes)).toBe(true);
    expect(fields.text).toHaveLength(100_000);
  });

  it('serializes a rejection reason that is not an error, and causes, without their payloads', async () => {
    const { logs, log } = logger();
    const inner = Object.assign(new Error(`POST /interactions/123456789012345678/${TOKEN}/callback failed`), { body: Buffer.alloc(50_000) });
    log.error({ err: new Error('outer', { cause: inner }) }, 'x');
    log.error({ err: { some: 'object', data: Buffer.alloc(10) } }, 'y');
    await expect.poll(() => logs.lines.length).toBe(2);
    expect(logs.raw).not.toContain(TOKEN);
    expect(logs.raw.length).toBeLessThan(16 * 1024);
    expect((logs.lines[0]!.err as { cause: { message: string } }).cause.message).toContain('/interactions/123456789012345678/[token]/callback');
  });
});

describe('routeOf', () => {
  it('names interaction and webhook routes without their token or query', () => {
    expect(routeOf(`http://127.0.0.1:5/api/v10/interactions/123456789012345678/${TOKEN}/callback?with_response=true`)).toBe('/interactions/123456789012345678/:token/callback');
    expect(routeOf('https://discord.com/api/v10/channels/1/messages')).toBe('/channels/1/messages');
  });
});

describe('secrets in log lines', () => {
  it('blanks secret fields down to three levels, in log objects and child bindings, without touching the caller’s objects', async () => {
    const { logs, log } = logger();
    const job = { id: 'j1', discord: { userId: '42', interactionToken: TOKEN }, token: TOKEN };
    const line = { token: TOKEN, job, request: { headers: { authorization: `Bot ${TOKEN}` } }, apiKey: 'luma-api-secret', userId: '42' };
    log.info(line, 'with secrets');
    log.child({ interactionToken: TOKEN, job: { discord: { interactionToken: TOKEN } }, headers: { authorization: 'Bot x' } }).info('child');
    await expect.poll(() => logs.lines.length).toBe(2);
    const text = JSON.stringify(logs.lines);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('luma-api-secret');
    expect(text).not.toContain('Bot x');
    expect(logs.lines[0]).toMatchObject({
      token: '[redacted]',
      apiKey: '[redacted]',
      userId: '42',
      job: { id: 'j1', token: '[redacted]', discord: { userId: '42', interactionToken: '[redacted]' } },
      request: { headers: { authorization: '[redacted]' } },
    });
    expect(logs.lines[1]).toMatchObject({ interactionToken: '[redacted]', job: { discord: { interactionToken: '[redacted]' } }, headers: { authorization: '[redacted]' } });
    // The caller's objects are as they were.
    expect(job.discord.interactionToken).toBe(TOKEN);
    expect(line.request.headers.authorization).toBe(`Bot ${TOKEN}`);
  });

  it('leaves a line without secrets as it is, bytes and long strings bounded', async () => {
    const { logs, log } = logger();
    log.info({ interactionId: '1', nested: { a: { b: { token: 'deeper than three levels' } } }, bytes: Buffer.alloc(10), long: 'y'.repeat(5000) }, 'plain');
    await expect.poll(() => logs.lines.length).toBe(1);
    expect(logs.lines[0]).toMatchObject({ interactionId: '1', nested: { a: { b: { token: 'deeper than three levels' } } }, bytes: '[10 bytes]' });
    expect((logs.lines[0]!.long as string).length).toBeLessThan(4100);
  });
});

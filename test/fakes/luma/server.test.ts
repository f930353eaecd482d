// The fake Luma: auth, request validation, the generation lifecycle, rate limits and plans, faults, URL inputs and
// outages, as the Luma API reference describes them.
import { inflateSync } from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { pngSize, solidPng, tinyGif, tinyJpeg, tinyWebp } from '../../../dev/fakes/png.js';
import { startFakeLuma, type FakeLuma, type FakeLumaOptions } from '../../../dev/fakes/luma/server.js';
import { closeScriptedServers, startScriptedServer } from '../../helpers/http-server.js';
import { waitUntil } from '../../helpers/wait.js';

const started: FakeLuma[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((fake) => fake.close()));
  await closeScriptedServers();
});

/** A fake on a hand-driven clock: `clock.t += ms` moves time. */
async function start(options: FakeLumaOptions = {}): Promise<{ fake: FakeLuma; clock: { t: number } }> {
  const clock = { t: Date.UTC(2025, 0, 1) };
  const fake = await startFakeLuma({ queuedMs: 1000, processingMs: 4000, now: () => clock.t, ...options });
  started.push(fake);
  return { fake, clock };
}

interface Answer {
  status: number;
  headers: Headers;
  json: { detail?: string; [key: string]: unknown };
  text: string;
}

async function call(
  fake: FakeLuma,
  method: 'GET' | 'POST',
  path: string,
  init: { body?: unknown; auth?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(fake.origin + path, {
    method,
    headers: {
      authorization: init.auth ?? `Bearer ${fake.apiKey}`,
      'content-type': 'application/json',
      ...init.headers,
    },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  const text = await res.text();
  const isJson = res.headers.get('content-type')?.includes('json') ?? false;
  return { status: res.status, headers: res.headers, json: isJson ? JSON.parse(text) : {}, text };
}

const post = (fake: FakeLuma, body: unknown, init: { auth?: string; headers?: Record<string, string> } = {}) =>
  call(fake, 'POST', '/v1/generations', { ...init, body });

const png = (rgb: [number, number, number] = [1, 2, 3]) => ({ data: solidPng(4, 4, rgb).toString('base64'), media_type: 'image/png' });

/** Serves /ok.png as image/png and /page as text/html on 127.0.0.1. */
async function imageHost(): Promise<{ base: string; image: Buffer; hits: string[] }> {
  const image = solidPng(8, 8, [10, 200, 30]);
  const server = await startScriptedServer((req, res) => {
    if (req.url === '/ok.png') res.writeHead(200, { 'content-type': 'image/png' }).end(image);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not an image</html>');
  });
  return {
    base: server.origin,
    image,
    get hits() {
      return server.seen.map((r) => r.url);
    },
  };
}

describe('fake Luma: auth and request ids', () => {
  it('answers 401 to a wrong key and to a lowercase "bearer"', async () => {
    const { fake } = await start();
    const wrong = await post(fake, { prompt: 'a cat' }, { auth: 'Bearer luma-api-wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ detail: 'Invalid API key' });
    const lower = await post(fake, { prompt: 'a cat' }, { auth: `bearer ${fake.apiKey}` });
    expect(lower.status).toBe(401);
    const get = await call(fake, 'GET', '/v1/generations/gen_x', { auth: 'Bearer nope' });
    expect(get.status).toBe(401);
    expect(fake.generations()).toHaveLength(0);
  });

  it('echoes X-Request-Id when sent and mints one otherwise', async () => {
    const { fake } = await start();
    const echoed = await post(fake, { prompt: 'a cat' }, { headers: { 'x-request-id': 'mine-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('mine-123');
    const minted = await call(fake, 'GET', '/v1/generations/gen_missing');
    expect(minted.status).toBe(404);
    expect(minted.json).toEqual({ detail: 'Generation not found' });
    expect(minted.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]+$/);
  });
});

describe('fake Luma: request validation', () => {
  it.each([
    ['an empty prompt', { prompt: '' }, 400, /prompt/],
    ['a 6001-character prompt', { prompt: 'x'.repeat(6001) }, 400, /at most 6000/],
    ['a source on type image', { prompt: 'p', source: png() }, 400, /source is not allowed/],
    ['image_edit without source', { prompt: 'p', type: 'image_edit' }, 400, /source is required/],
    ['10 references for image', { prompt: 'p', image_ref: Array.from({ length: 10 }, () => png()) }, 400, /at most 9/],
    ['9 references for image_edit', { prompt: 'p', type: 'image_edit', source: png(), image_ref: Array.from({ length: 9 }, () => png()) }, 400, /at most 8/],
    ['an unknown field', { prompt: 'p', seed: 3 }, 400, /Unknown field "seed"/],
    ['an unknown model', { prompt: 'p', model: 'uni-2' }, 400, /model must be one of/],
    ['an aspect ratio not in the list', { prompt: 'p', aspect_ratio: '4:3' }, 400, /aspect_ratio/],
    ['an input with two kinds', { prompt: 'p', image_ref: [{ ...png(), url: 'https://x.test/a.png' }] }, 400, /exactly one/],
    ['bad base64', { prompt: 'p', image_ref: [{ data: 'not base64!!', media_type: 'image/png' }] }, 422, /Invalid base64 image data/],
    ['base64 that is not an image', { prompt: 'p', image_ref: [{ data: Buffer.from('hello world!').toString('base64'), media_type: 'image/png' }] }, 422, /not an image/],
    ['a media_type that lies', { prompt: 'p', image_ref: [{ data: tinyJpeg().toString('base64'), media_type: 'image/png' }] }, 422, /does not match/],
    ['an unknown generation_id', { prompt: 'p', image_ref: [{ generation_id: 'gen_nope' }] }, 422, /not found/],
  ])('rejects %s', async (_name, body, status, detail) => {
    const { fake } = await start();
    const answer = await post(fake, body);
    expect(answer.status).toBe(status);
    expect(answer.json.detail).toMatch(detail);
    expect(fake.generations()).toHaveLength(0);
  });

  it('accepts the limits exactly: 6000 characters, 9 refs, every input format, null ratio', async () => {
    const { fake } = await start();
    const refs = [png(), { data: tinyJpeg().toString('base64'), media_type: 'image/jpeg' }];
    refs.push({ data: tinyWebp().toString('base64'), media_type: 'image/webp' });
    refs.push({ data: tinyGif(1).toString('base64'), media_type: 'image/gif' });
    while (refs.length < 9) refs.push(png());
    const answer = await post(fake, { prompt: 'é'.repeat(6000), aspect_ratio: null, output_format: null, image_ref: refs, user_id: '1234' });
    expect(answer.status).toBe(201);
    const gen = fake.generation(String(answer.json.id));
    expect(gen?.inputs.map((i) => i.mediaType)).toEqual([
      'image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/png', 'image/png', 'image/png', 'image/png', 'image/png',
    ]);
  });

  it('answers 413 to an input over 50 MB', async () => {
    const { fake } = await start();
    const big = Buffer.alloc(50 * 1024 * 1024 + 1);
    solidPng(1, 1, [0, 0, 0]).copy(big);
    const answer = await post(fake, { prompt: 'p', image_ref: [{ data: big.toString('base64'), media_type: 'image/png' }] });
    expect(answer.status).toBe(413);
  });
});

describe('fake Luma: lifecycle', () => {
  it('goes queued, processing, completed and serves a real PNG at the output URL', async () => {
    const { fake, clock } = await start();
    const created = await post(fake, { prompt: 'a red fox', model: 'uni-1-max', user_id: '42' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ model: 'uni-1-max', type: 'image', state: 'queued' });
    expect(created.json.id).toMatch(/^gen_[0-9a-f]+$/);
    expect(new Date(String(created.json.created_at)).getTime()).toBe(clock.t);
    const id = String(created.json.id);
    const path = `/v1/generations/${id}`;

    expect((await call(fake, 'GET', path)).json.state).toBe('queued');
    expect(fake.activeCount()).toBe(1);
    clock.t += 1000;
    expect((await call(fake, 'GET', path)).json).toMatchObject({ state: 'processing', output: null });
    clock.t += 4000;
    const done = await call(fake, 'GET', path);
    expect(done.json).toMatchObject({ state: 'completed', failure_code: null, failure_reason: null });
    expect(fake.activeCount()).toBe(0);

    const output = done.json.output as { type: string; url: string }[];
    expect(output).toHaveLength(1);
    expect(output[0]?.type).toBe('image');
    const file = await fetch(output[0]?.url ?? '');
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngSize(bytes)).toEqual({ width: 64, height: 64 });
    // IDAT inflates to 64 rows of (filter byte + 64 RGB pixels).
    const idatLength = bytes.readUInt32BE(33);
    expect(bytes.toString('latin1', 37, 41)).toBe('IDAT');
    expect(inflateSync(bytes.subarray(41, 41 + idatLength))).toHaveLength(64 * (1 + 64 * 3));
    expect(bytes.equals(fake.outputBytes(id))).toBe(true);
    expect(fake.generation(id)?.outputBytes?.equals(bytes)).toBe(true);
  });

  it('runs on the real clock by default', async () => {
    const fake = await startFakeLuma({ queuedMs: 30, processingMs: 60 });
    started.push(fake);
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await call(fake, 'GET', `/v1/generations/${id}`)).json.state).toBe('completed');
  });

  it('serves a real JPEG when output_format is jpeg', async () => {
    const { fake, clock } = await start();
    const id = String((await post(fake, { prompt: 'p', output_format: 'jpeg' })).json.id);
    clock.t += 5000;
    const url = ((await call(fake, 'GET', `/v1/generations/${id}`)).json.output as { url: string }[])[0]?.url ?? '';
    expect(url).toMatch(/\/files\/gen_[0-9a-f]+\.jpg\?/);
    const file = await fetch(url);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await file.arrayBuffer()).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('mints a fresh URL on every GET; expired URLs answer 403 and a new GET gives a working one', async () => {
    const { fake, clock } = await start({ outputTtlMs: 60_000 });
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    clock.t += 5000;
    const urlNow = async (): Promise<string> =>
      ((await call(fake, 'GET', `/v1/generations/${id}`)).json.output as { url: string }[])[0]?.url ?? '';
    const first = await urlNow();
    clock.t += 1;
    const second = await urlNow();
    expect(second).not.toBe(first);
    expect((await fetch(first)).status).toBe(200);

    clock.t += 60_000; // first is now past its expiry, second 1 ms before
    const expired = await fetch(first);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    expect((await fetch(second)).status).toBe(200);

    const third = await urlNow();
    fake.expireOutputs();
    expect((await fetch(second)).status).toBe(403);
    expect((await fetch(third)).status).toBe(403);
    expect((await fetch(await urlNow())).status).toBe(200);
    expect((await fetch(first.replace(/sig=[0-9a-f]+/, 'sig=00'))).status).toBe(403);
  });

  it('fails a generation as planned, and holds one until released', async () => {
    const { fake, clock } = await start();
    fake.planNext({ failWith: 'content_moderated' });
    fake.planNext({ hold: true });
    const failed = String((await post(fake, { prompt: 'p' })).json.id);
    const held = String((await post(fake, { prompt: 'q' })).json.id);
    clock.t += 60_000;
    expect((await call(fake, 'GET', `/v1/generations/${failed}`)).json).toMatchObject({
      state: 'failed',
      failure_code: 'content_moderated',
      failure_reason: expect.any(String),
      output: null,
    });
    expect((await call(fake, 'GET', `/v1/generations/${held}`)).json.state).toBe('processing');
    fake.release(held);
    expect((await call(fake, 'GET', `/v1/generations/${held}`)).json.state).toBe('completed');
  });

  it('edits an earlier generation by generation_id once it is completed', async () => {
    const { fake, clock } = await start();
    const first = String((await post(fake, { prompt: 'p' })).json.id);
    const early = await post(fake, { prompt: 'q', type: 'image_edit', source: { generation_id: first } });
    expect(early.status).toBe(422);
    expect(early.json.detail).toMatch(/not completed/);
    clock.t += 5000;
    const edit = await post(fake, { prompt: 'q', type: 'image_edit', source: { generation_id: first } });
    expect(edit.status).toBe(201);
    expect(edit.json.type).toBe('image_edit');
    expect(fake.generation(String(edit.json.id))?.inputs[0]?.bytes?.equals(fake.outputBytes(first))).toBe(true);
  });

  it('refuses the first downloads of a planned output with S3 503 SlowDown, then serves it', async () => {
    const { fake, clock } = await start();
    fake.planNext({ fileFailures: 2 });
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    clock.t += 5000;
    const url = ((await call(fake, 'GET', `/v1/generations/${id}`)).json.output as { url: string }[])[0]?.url ?? '';
    for (let i = 0; i < 2; i++) {
      const refused = await fetch(url);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toBe('application/xml');
      expect(await refused.text()).toContain('<Code>SlowDown</Code>');
    }
    const served = await fetch(url);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(fake.outputBytes(id))).toBe(true);
  });

  it('awaits an outputImage that answers with a Promise before answering the POST', async () => {
    const image = solidPng(8, 8, [9, 9, 9]);
    const { fake, clock } = await start({ outputImage: async () => image });
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    clock.t += 5000;
    expect(fake.outputBytes(id).equals(image)).toBe(true);
  });

  it('fails a generation fed an animated GIF with unsupported_format', async () => {
    const { fake, clock } = await start();
    const id = String((await post(fake, { prompt: 'p', image_ref: [{ data: tinyGif(3).toString('base64'), media_type: 'image/gif' }] })).json.id);
    clock.t += 5000;
    expect((await call(fake, 'GET', `/v1/generations/${id}`)).json).toMatchObject({ state: 'failed', failure_code: 'unsupported_format' });
  });
});

describe('fake Luma: rate limits', () => {
  it('limits POSTs per sliding minute with Retry-After and X-RateLimit headers, not GETs', async () => {
    const { fake, clock } = await start({ rateLimit: { rpm: 2 } });
    const a = await post(fake, { prompt: 'a' });
    clock.t += 10_000;
    const b = await post(fake, { prompt: 'b' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get('x-ratelimit-limit')).toBe('2');
    expect(b.headers.get('x-ratelimit-remaining')).toBe('0');

    clock.t += 10_000;
    const c = await post(fake, { prompt: 'c' });
    expect(c.status).toBe(429);
    expect(c.json).toEqual({ detail: 'Rate limit exceeded' });
    expect(Number(c.headers.get('retry-after'))).toBe(40);
    expect(c.headers.get('x-ratelimit-limit')).toBe('2');
    expect(c.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(c.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((clock.t + 40_000) / 1000));
    expect((await call(fake, 'GET', `/v1/generations/${String(a.json.id)}`)).status).toBe(200);

    clock.t += 40_000; // a leaves the window
    expect((await post(fake, { prompt: 'd' })).status).toBe(201);
    expect((await post(fake, { prompt: 'e' })).status).toBe(429);
    fake.setRateLimit(undefined);
    expect((await post(fake, { prompt: 'f' })).status).toBe(201);
  });

  it('rejects (does not queue) jobs over the concurrency limit with Retry-After 60 and no rate-limit headers', async () => {
    const { fake, clock } = await start({ rateLimit: { rpm: 100, concurrent: 2 } });
    expect((await post(fake, { prompt: 'a' })).status).toBe(201);
    expect((await post(fake, { prompt: 'b' })).status).toBe(201);
    const c = await post(fake, { prompt: 'c' });
    expect(c.status).toBe(429);
    expect(c.json).toEqual({ detail: 'Too many concurrent jobs' });
    expect(c.headers.get('retry-after')).toBe('60');
    expect(c.headers.get('x-ratelimit-limit')).toBeNull();
    expect(fake.generations()).toHaveLength(2);
    expect(fake.activeCount()).toBe(2);
    clock.t += 5000;
    expect(fake.activeCount()).toBe(0);
    expect((await post(fake, { prompt: 'c' })).status).toBe(201);
  });
});

describe('fake Luma: a plan', () => {
  it('enforces a plan given at start, reports the window on every 201 and records which limit refused a POST', async () => {
    const { fake, clock } = await start({ plan: { rpm: 3, concurrent: 2 } });
    const a = await post(fake, { prompt: 'a' });
    expect(a.status).toBe(201);
    expect([a.headers.get('x-ratelimit-limit'), a.headers.get('x-ratelimit-remaining')]).toEqual(['3', '2']);
    expect(Number(a.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((clock.t + 60_000) / 1000));
    clock.t += 1000;
    expect((await post(fake, { prompt: 'b' })).headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await post(fake, { prompt: 'c' })).status).toBe(429); // the two are still at Luma
    clock.t += 10_000;
    expect((await post(fake, { prompt: 'd' })).status).toBe(429); // the window is full: c counted, d refused
    expect(fake.posts().map((r) => [r.status, r.limitedBy])).toEqual([
      [201, undefined],
      [201, undefined],
      [429, 'concurrency'],
      [429, 'requests'],
    ]);
  });
});

describe('fake Luma: faults', () => {
  it('plays scripted responses in order, then behaves normally', async () => {
    const { fake } = await start();
    fake.fault({ method: 'POST', path: '/v1/generations' }, { status: 500 }, { status: 502, body: { detail: 'Bad gateway' } });
    const first = await post(fake, { prompt: 'p' });
    expect(first.status).toBe(500);
    expect(first.json.detail).toBe('Internal Server Error');
    expect((await post(fake, { prompt: 'p' })).json).toEqual({ detail: 'Bad gateway' });
    expect((await post(fake, { prompt: 'p' })).status).toBe(201);
    expect(fake.posts()).toHaveLength(3);
    expect(fake.posts()[0]?.fault).toEqual({ status: 500 });
    expect(fake.posts()[2]?.body).toEqual({ prompt: 'p' });
    expect(fake.generations()).toHaveLength(1);
  });

  it('can drop the connection, delay, or hang until close', async () => {
    const { fake } = await start();
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    fake.fault({ method: 'GET', path: `/v1/generations/${id}`, exact: true }, { reset: true }, { delayMs: 100 }, { hang: true });
    await expect(call(fake, 'GET', `/v1/generations/${id}`)).rejects.toThrow();
    const before = Date.now();
    expect((await call(fake, 'GET', `/v1/generations/${id}`)).status).toBe(200);
    expect(Date.now() - before).toBeGreaterThanOrEqual(90);
    const seen = fake.requests.length;
    const hung = call(fake, 'GET', `/v1/generations/${id}`);
    await waitUntil(() => fake.requests.length > seen, 'the hanging request at the fake');
    await fake.close();
    await expect(hung).rejects.toThrow();
  });

  it('can hold a POST until released and then create the generation, whether or not its sender is still there', async () => {
    const { fake } = await start();
    let release = (): void => undefined;
    fake.fault({ method: 'POST', path: '/v1/generations' }, { until: new Promise<void>((resolve) => (release = resolve)) });
    const sent = post(fake, { prompt: 'held' });
    await waitUntil(() => fake.posts().length === 1, 'the held POST at the fake');
    expect(fake.generations()).toHaveLength(0);
    release();
    expect((await sent).status).toBe(201);
    expect(fake.generations().map((g) => g.request.prompt)).toEqual(['held']);
  });
});

describe('fake Luma: url inputs', () => {
  it('fetches url inputs for real and keeps their bytes', async () => {
    const { fake } = await start();
    const host = await imageHost();
    const answer = await post(fake, { prompt: 'p', image_ref: [{ url: `${host.base}/ok.png` }] });
    expect(answer.status).toBe(201);
    expect(host.hits).toEqual(['/ok.png']);
    const input = fake.generation(String(answer.json.id))?.inputs[0];
    expect(input).toMatchObject({ kind: 'url', mediaType: 'image/png', url: `${host.base}/ok.png` });
    expect(input?.bytes?.equals(host.image)).toBe(true);
  });

  it('answers 422 when the url serves something other than an image, and 503 while ingestion is down', async () => {
    const { fake } = await start();
    const host = await imageHost();
    const html = await post(fake, { prompt: 'p', image_ref: [{ url: `${host.base}/page` }] });
    expect(html.status).toBe(422);
    expect(html.json.detail).toMatch(/^Failed to fetch image from URL .*text\/html/);

    fake.setUrlIngestionDown(true);
    const down = await post(fake, { prompt: 'p', image_ref: [{ url: `${host.base}/ok.png` }] });
    expect(down.status).toBe(503);
    expect(down.json).toEqual({ detail: 'URL ingestion temporarily unavailable' });
    expect((await post(fake, { prompt: 'p', image_ref: [png()] })).status).toBe(201);
    expect(host.hits).toEqual(['/page']);
  });
});

describe('fake Luma: outages and states outside the reference', () => {
  it('answers 502 to every API request during an outage, creating nothing, while accepted generations go on', async () => {
    const { fake, clock } = await start();
    const before = await post(fake, { prompt: 'p' });
    const id = String(before.json.id);
    fake.setOutage(502);
    const refused = await post(fake, { prompt: 'q' });
    expect(refused.status).toBe(502);
    expect(refused.json).toEqual({ detail: 'Bad Gateway' });
    expect((await call(fake, 'GET', `/v1/generations/${id}`)).status).toBe(502);
    expect(fake.generations()).toHaveLength(1);
    clock.t += 5000;
    fake.setOutage(undefined);
    const after = await call(fake, 'GET', `/v1/generations/${id}`);
    expect(after.json.state).toBe('completed');
    const url = (after.json.output as { url: string }[])[0]!.url;
    fake.setOutage(502);
    expect((await fetch(url)).status).toBe(200); // output files are not the API
  });

  it('ends a planned generation in a state outside the API reference, with no output, no longer active', async () => {
    const { fake, clock } = await start();
    fake.planNext({ endState: 'cancelled' });
    const id = String((await post(fake, { prompt: 'p' })).json.id);
    expect(fake.activeCount()).toBe(1);
    clock.t += 5000;
    const got = await call(fake, 'GET', `/v1/generations/${id}`);
    expect(got.json).toMatchObject({ state: 'cancelled', output: null, failure_code: null });
    expect(fake.activeCount()).toBe(0);
  });
});

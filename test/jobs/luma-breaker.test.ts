// The Luma circuit breaker on its own: when it opens, how its probes are spaced (on a clock the test sets), and what
// each answer of Luma tells it through the Luma port the steps use (the real client against the fake Luma).
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeLuma, type FakeLuma } from '../../dev/fakes/luma/server.js';
import { LocalLumaBreaker, PROBE_FIRST_MS, PROBE_MAX_MS, probeDelayMs, signalOf, watchedLuma } from '../../src/jobs/luma-breaker.js';
import { LumaClient } from '../../src/luma/client.js';
import { BadGatewayError, InternalServerError, LumaConnectionError, LumaError, NotFoundError, RateLimitError, ServiceUnavailableError } from '../../src/luma/errors.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { rejectionOf } from '../helpers/rejection.js';

const T0 = 1_800_000_000_000;

describe('the Luma breaker', () => {
  it('opens on a 502, sends one probe at a time 5–10 s later, and closes on the first answer', () => {
    const clock = new ManualClock(T0);
    const { logger, lines } = capturingLogger();
    const b = new LocalLumaBreaker({ clock, logger, random: () => 0.5 });
    expect(b.view(T0).open).toBe(false);
    b.record(T0, 'down');
    const v = b.view(T0);
    expect(v).toEqual({ open: true, since: T0, probeAt: T0 + 7500, probing: false });
    expect(b.takeProbe(T0 + 7499)).toBe(false);
    expect(b.takeProbe(T0 + 7500)).toBe(true);
    // One at a time: the next waits for this one's end.
    expect(b.takeProbe(T0 + 7500)).toBe(false);
    expect(b.view(T0 + 7500).probing).toBe(true);
    b.record(T0 + 7600, 'down');
    b.probeEnded(T0 + 7600);
    expect(b.view(T0 + 7600)).toMatchObject({ open: true, probing: false, probeAt: T0 + 7600 + 7500 });
    expect(b.status(T0 + 7600)).toMatchObject({ state: 'open', since: T0, nextProbeAt: T0 + 15_100, probes: 1, opened: 1, shared: false });
    expect(b.takeProbe(T0 + 15_100)).toBe(true);
    b.record(T0 + 15_200, 'up');
    b.probeEnded(T0 + 15_200);
    expect(b.view(T0 + 15_200).open).toBe(false);
    expect(b.status(T0 + 15_200)).toMatchObject({ state: 'closed', since: undefined, nextProbeAt: undefined });
    expect(lines.map((l) => l.msg)).toEqual(['Luma is down: holding work, one probe at a time until it answers', 'Luma answers again: the queue goes on']);
  });

  it('spaces probes 5–10 s apart at first, further the longer the outage lasts, never more than 60 s', () => {
    for (const r of [0, 0.5, 0.999]) {
      const d = probeDelayMs(0, () => r);
      expect(d).toBeGreaterThanOrEqual(PROBE_FIRST_MS);
      expect(d).toBeLessThanOrEqual(2 * PROBE_FIRST_MS);
    }
    expect(probeDelayMs(60_000, () => 0)).toBe(30_000);
    expect(probeDelayMs(60_000, () => 0.5)).toBe(45_000);
    expect(probeDelayMs(10 * 60_000, () => 0)).toBe(PROBE_MAX_MS);
    expect(probeDelayMs(10 * 60_000, () => 0.999)).toBe(PROBE_MAX_MS);
    // A 90-s outage with the slowest jitter costs no more than a handful of probes.
    const clock = new ManualClock(T0);
    const b = new LocalLumaBreaker({ clock, random: () => 0 });
    b.record(T0, 'down');
    let probes = 0;
    for (let t = T0; t < T0 + 90_000; t += 100) {
      if (!b.takeProbe(t)) continue;
      probes++;
      b.record(t, 'down');
      b.probeEnded(t);
    }
    expect(probes).toBeGreaterThanOrEqual(4);
    expect(probes).toBeLessThanOrEqual(8);
  });

  it('opens on unreachable only the second time in a row: one dropped connection may be a stale socket', () => {
    const clock = new ManualClock(T0);
    const b = new LocalLumaBreaker({ clock });
    b.record(T0, 'unreachable');
    expect(b.view(T0).open).toBe(false);
    b.record(T0 + 10, 'up');
    b.record(T0 + 20, 'unreachable');
    expect(b.view(T0 + 20).open).toBe(false);
    b.record(T0 + 30, 'unreachable');
    expect(b.view(T0 + 30).open).toBe(true);
    // While open, a late failure of a request sent before pushes the next probe out, never closer.
    const probeAt = b.view(T0 + 30).probeAt;
    b.record(T0 + 40, 'down');
    expect(b.view(T0 + 40).probeAt).toBeGreaterThanOrEqual(Math.max(probeAt, T0 + 40 + PROBE_FIRST_MS));
  });

  it('lets a probe that never reached Luma hand its turn on at once', () => {
    const clock = new ManualClock(T0);
    const b = new LocalLumaBreaker({ clock, random: () => 0 });
    b.record(T0, 'down');
    expect(b.takeProbe(T0 + 5000)).toBe(true);
    b.probeEnded(T0 + 5001);
    expect(b.takeProbe(T0 + 5001)).toBe(true);
  });

  it('reads 502, 503 and 504 as down, no answer as unreachable, and any other answer as up', () => {
    const api = (status: number) => new (status === 502 ? BadGatewayError : status === 503 ? ServiceUnavailableError : InternalServerError)(status, 'x', {});
    expect(signalOf(api(502))).toBe('down');
    expect(signalOf(api(503))).toBe('down');
    expect(signalOf(api(504))).toBe('down');
    // URL ingestion down: Luma is up, the job sends its images as bytes.
    expect(signalOf(api(503), { urlInputs: true })).toBe('up');
    expect(signalOf(api(500))).toBe('up');
    expect(signalOf(new NotFoundError(404, 'x', {}))).toBe('up');
    expect(signalOf(new RateLimitError(429, 'Too many concurrent jobs', {}))).toBe('up');
    expect(signalOf(new LumaError('a 2xx that is not a generation'))).toBe('up');
    expect(signalOf(new LumaConnectionError('refused', { reachedServer: false }))).toBe('unreachable');
    expect(signalOf(new Error('the shutdown'))).toBeUndefined();
  });
});

describe('the Luma port the steps use', () => {
  let luma: FakeLuma | undefined;
  afterEach(async () => {
    await luma?.close();
    luma = undefined;
  });

  const setup = async () => {
    const clock = new ManualClock(T0);
    luma = await startFakeLuma({ now: () => clock.now() });
    const breaker = new LocalLumaBreaker({ clock, random: () => 0 });
    const client = new LumaClient({ apiKey: luma.apiKey, baseURL: luma.url, retryBaseDelayMs: 1, maxRetries: 3 });
    return { clock, fake: luma, breaker, port: watchedLuma(client, breaker, clock) };
  };

  it('opens the breaker at the first 502 and stops the call’s own retries there', async () => {
    const { fake, breaker, port } = await setup();
    fake.setOutage(502);
    expect(await rejectionOf(port.getGeneration('gen_x'))).toBeInstanceOf(BadGatewayError);
    expect(fake.requests).toHaveLength(1);
    expect(breaker.view(T0).open).toBe(true);
  });

  it('sends a probe made while the breaker is open as one attempt, and closes it on the answer', async () => {
    const { clock, fake, breaker, port } = await setup();
    fake.setOutage(502);
    await rejectionOf(port.getGeneration('gen_x'));
    await clock.advance(PROBE_FIRST_MS);
    expect(breaker.takeProbe(clock.now())).toBe(true);
    fake.setOutage(503);
    await rejectionOf(port.getGeneration('gen_x'));
    expect(fake.requests).toHaveLength(2);
    breaker.probeEnded(clock.now());
    fake.setOutage(undefined);
    await clock.advance(PROBE_FIRST_MS);
    expect(breaker.takeProbe(clock.now())).toBe(true);
    const { generation } = await port.createGeneration({ prompt: 'the probe', model: 'uni-1' });
    expect(generation.state).toBe('queued');
    expect(breaker.view(clock.now()).open).toBe(false);
  });

  it('keeps it closed for a 503 that only says URL ingestion is down, and for a 404', async () => {
    const { fake, breaker, port } = await setup();
    fake.setUrlIngestionDown(true);
    const err = await rejectionOf(port.createGeneration({ prompt: 'by url', model: 'uni-1', type: 'image', image_ref: [{ url: 'http://127.0.0.1:9/a.png' }] }, { maxRetries: 0 }));
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(await rejectionOf(port.getGeneration('gen_unknown'))).toBeInstanceOf(NotFoundError);
    expect(breaker.view(T0).open).toBe(false);
  });
});

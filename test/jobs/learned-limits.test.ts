// Luma's per-minute limit learned from its 201s, up or down from the configured start, in the engine alone
// (test/helpers/engine-world.ts: in-memory storage, a manual clock, the fake Luma enforcing a plan on the same clock).
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';

const user = (n: number) => `7100000000000${String(n).padStart(5, '0')}`;

/** POSTs Luma accepted (201) in [from, from + 60 s). */
const acceptedInMinute = (w: EngineWorld, from: number) => w.luma.posts().filter((r) => r.status === 201 && r.at >= from && r.at < from + 60_000).length;

describe('limits learned from Luma', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('drains a queue at the 120 a minute Luma reports, though configured at 30', async () => {
    w = await startEngineWorld({ config: { lumaMaxRequestsPerMinute: 30, lumaMaxConcurrentJobs: 10 }, luma: { plan: { rpm: 120 } } });
    const world = w;
    const jobs = [];
    for (let n = 0; n < 200; n++) jobs.push(await world.submit(user(n % 50), `learned up: ${n}`));
    const start = world.clock.now();
    await world.run(59_000, 250);
    // The whole minute's allowance, not the configured 30.
    expect(acceptedInMinute(world, start)).toBe(120);
    expect(world.engine.lumaLimits()).toMatchObject({ requestsPerMinute: 120 });
    await world.run(20_000, 250);
    for (const job of jobs) expect(world.deliver.of(job.id).result).toBeDefined();
    expect(world.luma.generations()).toHaveLength(200);
    expect(world.luma.posts().filter((r) => r.limitedBy !== undefined)).toEqual([]);
    expect(world.lines.filter((l) => l.msg === 'Luma limits changed').map((l) => l.requestsPerMinute)).toEqual([120]);
  });

  it('holds to the 20 a minute Luma reports, though configured at 30, without drawing a per-minute 429', async () => {
    w = await startEngineWorld({ config: { lumaMaxRequestsPerMinute: 30, lumaMaxConcurrentJobs: 10 }, luma: { plan: { rpm: 20 } } });
    const world = w;
    const jobs = [];
    for (let n = 0; n < 50; n++) jobs.push(await world.submit(user(n % 25), `learned down: ${n}`));
    const start = world.clock.now();
    await world.run(150_000, 250);
    for (const job of jobs) expect(world.deliver.of(job.id).result).toBeDefined();
    // Never more than 20 in any minute, and the whole 20 each minute.
    const times = world.luma.posts().map((r) => r.at);
    for (const at of times) expect(times.filter((t) => t >= at && t < at + 60_000).length).toBeLessThanOrEqual(20);
    expect(acceptedInMinute(world, start)).toBe(20);
    expect(acceptedInMinute(world, start + 60_000)).toBe(20);
    expect(world.luma.posts().filter((r) => r.status === 429)).toEqual([]);
    expect(world.luma.posts()).toHaveLength(50);
  });

  it('stays under LUMA_RPM_CEILING when Luma reports more', async () => {
    w = await startEngineWorld({ config: { lumaMaxRequestsPerMinute: 30, lumaRpmCeiling: 40, lumaMaxConcurrentJobs: 10 }, luma: { plan: { rpm: 120 } } });
    const world = w;
    for (let n = 0; n < 60; n++) await world.submit(user(n % 30), `ceiling: ${n}`);
    const start = world.clock.now();
    await world.run(59_000, 250);
    expect(acceptedInMinute(world, start)).toBe(40);
    expect(world.engine.lumaLimits()).toMatchObject({ requestsPerMinute: 40, requestsPerMinuteSource: 'ceiling', learnedRequestsPerMinute: 120 });
  });
});

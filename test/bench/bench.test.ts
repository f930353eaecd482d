// The bench's modes stay runnable (a small run of each, from the sources), and the perfect-client
// floor it compares the bot with is computed right. No figure of the bench is checked here: timing goals live in
// `npm run bench`, never in tests.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { perfectClientFloorMs } from './floor.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function bench(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/bench/run.ts', '--source', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

describe('the perfect-client floor', () => {
  it('is bound by concurrency when the window has room', () => {
    // Two slots, four 10 s jobs: two rounds.
    expect(perfectClientFloorMs([10_000, 10_000, 10_000, 10_000], 100, 2)).toBe(20_000);
  });

  it("is bound by the sliding minute when concurrency has room, using the first window's allowance at once", () => {
    // 3 a minute: three at 0, three more at 60 s.
    expect(perfectClientFloorMs([1000, 1000, 1000, 1000, 1000, 2000], 3, 10)).toBe(62_000);
  });

  it('starts a job when the earliest of the running ones finishes', () => {
    expect(perfectClientFloorMs([5000, 1000, 1000], 100, 2)).toBe(5000);
  });
});

describe('npm run bench', () => {
  it('runs the plan mode against a fake that enforces the plan and reports the floor, the ratio and the 429s by kind', async () => {
    const r = await bench(['--plan', '6/2', '--jobs', '6', '--members', '3', '--queued-ms', '50', '--processing-ms', '300']);
    expect(r).toMatchObject({ bench: 'plan', ok: true, delivered: 6, plan: { rpm: 6, concurrent: 2 }, failures: 0 });
    // A figure like the others: whether the first round of POSTs came from every member depends on the order the
    // six commands reached the bot, which this machine's load decides. The fair pick is tested in test/jobs/limits.
    expect(r.fair).toEqual(expect.any(Boolean));
    expect(r.floorMs).toEqual(expect.any(Number));
    expect(r.floorRatio).toEqual(expect.any(Number));
    expect(r.luma429).toEqual({ requests: expect.any(Number), concurrency: expect.any(Number) });
    expect(r.eventLoopDelayMs).toMatchObject({ p99Ms: expect.any(Number) });
  }, 120_000);

  it('runs the outage mode and reports the requests sent during the outage, the recovery and the drain', async () => {
    const r = await bench(['--outage', '--outage-s', '2', '--jobs', '6', '--members', '3', '--processing-ms', '300', '--image-px', '64']);
    expect(r).toMatchObject({ bench: 'outage', ok: true, delivered: 6, failures: 0, duplicates: 0, plan: { rpm: 120 } });
    expect(r.outage).toMatchObject({
      duringOutage: { posts: expect.any(Number), gets: expect.any(Number) },
      recoveryToLastDeliveryMs: expect.any(Number),
      acceptedPerMinute: [6],
      advertisedRpm: 120,
    });
  }, 120_000);

  it('runs the burst mode and reports acks, delivery overhead, memory and Discord 429s', async () => {
    const r = await bench(['--burst', '--jobs', '24', '--members', '6', '--concurrency', '8', '--processing-ms', '300', '--image-px', '64']);
    expect(r).toMatchObject({ bench: 'burst', ok: true, delivered: 24, failures: 0, unacknowledged: 0, duplicates: 0 });
    expect(r.ackMs).toMatchObject({ p99: expect.any(Number) });
    expect(r.overheadMs).toMatchObject({ p99: expect.any(Number) });
    expect(r.peakRssMB).toEqual(expect.any(Number));
    expect(r.discord429).toEqual(expect.any(Number));
  }, 120_000);

  it('runs several HTTP workers on one Redis, one killed halfway, and reports each worker and the killed one’s jobs', async () => {
    const r = await bench(['--burst', '--workers', '2', '--kill-worker', '--timeout-s', '60', '--jobs', '12', '--members', '6', '--concurrency', '8', '--processing-ms', '300', '--image-px', '64']);
    expect(r).toMatchObject({ bench: 'burst', ok: true, duplicates: 0, uploadedTwice: 0 });
    expect(r.workers).toEqual([expect.objectContaining({ worker: 0, killed: true }), expect.objectContaining({ worker: 1, killed: false })]);
    const killed = r.killedWorker as { accepted: number; delivered: number };
    expect(killed.delivered).toBe(killed.accepted);
  }, 120_000);
});

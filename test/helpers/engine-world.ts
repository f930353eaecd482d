// The job engine on its own, for tests of scheduling, limits and steps: in-memory storage, a manual clock, the fake
// Luma on loopback (on the same clock) through the real Luma client, and a Deliverer that records what the member
// would be shown. No Discord, no bot process: what is tested is the core, through its own ports.
import { Agent } from 'undici';
import { vi } from 'vitest';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma, FakeLumaOptions } from '../../dev/fakes/luma/api.js';
import { newJobs, type JobSpec } from '../../src/jobs/create.js';
import type { Delivered, Deliverer, DeliveryOutcome, GroupView, ProgressOutcome, ProgressState, ResultImage } from '../../src/jobs/delivery.js';
import { JobEngine, type EngineConfig, type EngineDeps } from '../../src/jobs/engine.js';
import { KeptResults } from '../../src/jobs/kept-results.js';
import { JobRecords } from '../../src/jobs/records.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { LumaClient } from '../../src/luma/client.js';
import { createMemoryStorage, type Storage } from '../../src/storage/index.js';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import { ManualClock } from './clock.js';
import { capturingLogger, type LogLine } from './logs.js';

export const ENGINE_DEFAULTS: EngineConfig = {
  pollIntervalMs: 2500,
  progressIntervalMs: 3000,
  lumaMaxConcurrentJobs: 10,
  lumaMaxRequestsPerMinute: 30,
  lumaRpmCeiling: undefined,
  maxJobsPerUser: 2,
  transferBudgetBytes: 32 * 1024 * 1024,
  discordCdnOrigins: ['https://cdn.discordapp.com'],
  jobMaxAgeMs: 30 * 60_000,
  lumaOutageWindowMs: 10 * 60_000,
  lumaInlineMaxBytes: 25 * 1024 * 1024,
};

/** What the recording deliverer saw, per job. */
export interface Shown {
  progress: { state: ProgressState; at: number }[];
  /** `group`: the step of every image of the request, as the delivery saw them. */
  result?: { bytes: number; contentType: string; at: number; group?: (string | undefined)[] };
  failure?: { code: string | undefined; at: number; group?: (string | undefined)[] };
}

/** A Deliverer that keeps what each member would be shown (every route reaches them). */
export class RecordingDeliverer implements Deliverer {
  readonly shown = new Map<string, Shown>();
  constructor(private readonly clock: Pick<Clock, 'now'>) {}
  of(jobId: string): Shown {
    let s = this.shown.get(jobId);
    if (!s) this.shown.set(jobId, (s = { progress: [] }));
    return s;
  }
  canShowProgress(): boolean {
    return true;
  }
  async progress(job: JobRecord, state: ProgressState): Promise<ProgressOutcome> {
    const list = this.of(job.id).progress;
    const last = list.at(-1)?.state;
    if (last && JSON.stringify(last) === JSON.stringify(state)) return 'unchanged';
    list.push({ state, at: this.clock.now() });
    return 'shown';
  }
  beforeResult(): void {}
  /** Deliveries running now, and the most that ever ran at once for one request. */
  private running = new Map<string, number>();
  mostAtOnce = 0;
  async result(job: JobRecord, image: ResultImage, group?: GroupView): Promise<DeliveryOutcome> {
    return this.track(job, async () => {
      this.of(job.id).result = { bytes: image.bytes.length, contentType: image.contentType, at: this.clock.now(), ...(group ? { group: group.jobs.map((j) => j?.step) } : {}) };
      return { outcome: 'delivered', via: 'test' };
    });
  }
  async failure(job: JobRecord, group?: GroupView): Promise<DeliveryOutcome> {
    return this.track(job, async () => {
      this.of(job.id).failure = { code: job.failure?.code, at: this.clock.now(), ...(group ? { group: group.jobs.map((j) => j?.step) } : {}) };
      return { outcome: 'delivered', via: 'test' };
    });
  }
  /** Deliveries not finished yet (the world's idle() waits for them). */
  busy = 0;
  private async track<T>(job: JobRecord, fn: () => Promise<T>): Promise<T> {
    const key = job.group?.id ?? job.id;
    const now = (this.running.get(key) ?? 0) + 1;
    this.running.set(key, now);
    this.mostAtOnce = Math.max(this.mostAtOnce, now);
    this.busy++;
    try {
      // A delivery is not instant (an upload): it yields, and another one of the same request must wait for it.
      await new Promise((r) => setImmediate(r));
      return await fn();
    } finally {
      this.busy--;
      this.running.set(key, (this.running.get(key) ?? 1) - 1);
    }
  }
  async findDelivered(): Promise<Delivered | undefined> {
    return undefined;
  }
  async handOver(): Promise<Delivered> {
    return { via: 'test' };
  }
  scrub(): void {}
}

/** A call of the engine to Luma (one call: the client's own retries are in the fake's `requests`). */
export interface LumaCall {
  method: 'POST' | 'GET';
  id?: string;
  /** When it started, on the engine's clock. */
  at: number;
  /** Order of the call's start among every start and end of a call. */
  seq: number;
  /** Calls in flight when it started, itself included. */
  inFlight: number;
  /** Order of its end among every start and end; absent while in flight. */
  endSeq?: number;
  /** Whether Luma answered it with success. */
  ok?: boolean;
}

/** A Luma port over `client` that records every call the engine makes (several engines may share one). */
export function recordingLuma(client: EngineDeps['luma'], clock: Pick<Clock, 'now'>): { port: EngineDeps['luma']; calls: LumaCall[]; inFlight(): number } {
  const calls: LumaCall[] = [];
  let inFlight = 0;
  let seq = 0;
  const track = async <T>(call: Pick<LumaCall, 'method' | 'id'>, run: () => Promise<T>): Promise<T> => {
    inFlight++;
    const entry: LumaCall = { ...call, at: clock.now(), seq: ++seq, inFlight };
    calls.push(entry);
    try {
      const result = await run();
      entry.ok = true;
      return result;
    } catch (err) {
      entry.ok = false;
      throw err;
    } finally {
      inFlight--;
      entry.endSeq = ++seq;
    }
  };
  const port: EngineDeps['luma'] = {
    createGeneration: (body, opts) => track({ method: 'POST' }, () => client.createGeneration(body, opts)),
    getGeneration: (id, opts) => track({ method: 'GET', id }, () => client.getGeneration(id, opts)),
  };
  return { port, calls, inFlight: () => inFlight };
}

export interface EngineWorld {
  clock: ManualClock;
  luma: FakeLuma;
  engine: JobEngine;
  records: JobRecords;
  storage: Storage;
  deliver: RecordingDeliverer;
  /** Luma calls the engine made, in the engine's clock time. */
  calls: LumaCall[];
  lines: LogLine[];
  /** Stores and queues a job for `userId` (a plain imagine of `prompt`). */
  submit(userId: string, prompt: string, o?: { guildId?: string | null }): Promise<JobRecord>;
  /** The same for a request of `count` images: its jobs, in order. */
  submitMany(userId: string, prompt: string, count: number): Promise<JobRecord[]>;
  /** Moves the clock in steps of `stepMs` (default 100) up to `ms`, letting every Luma call answer between steps. */
  run(ms: number, stepMs?: number): Promise<void>;
  /** Waits (real time, on a condition) until no Luma call or delivery the engine started is still in flight. */
  idle(): Promise<void>;
  /**
   * A restart: a new engine on the same storage, Luma, clock and deliverer, once the test has stopped the first
   * (`engine` is then the new one).
   */
  startAgain(): Promise<void>;
  close(): Promise<void>;
}

export async function startEngineWorld(
  o: { config?: Partial<EngineConfig>; luma?: FakeLumaOptions; deps?: Partial<EngineDeps>; storage?: (logger: Logger) => Storage | Promise<Storage> } = {},
): Promise<EngineWorld> {
  const clock = new ManualClock();
  // Whole milliseconds, as a real clock gives them (a step may wait a fraction: the fake signs its URLs with whole ones).
  const luma = await startFakeLuma({ now: () => Math.floor(clock.now()), ...o.luma });
  const { logger, lines } = capturingLogger();
  const storage = o.storage ? await o.storage(logger) : createMemoryStorage(logger);
  const records = new JobRecords(storage, { logger, clock });
  const kept = new KeptResults(records.env);
  const http = new Agent();
  const client = new LumaClient({ apiKey: luma.apiKey, baseURL: luma.url, dispatcher: http, logger, retryBaseDelayMs: 1 });
  const { port: lumaPort, calls, inFlight } = recordingLuma(client, clock);
  const deliver = new RecordingDeliverer(clock);
  const newEngine = () => new JobEngine({ config: { ...ENGINE_DEFAULTS, ...o.config }, luma: lumaPort, http, records, kept, deliverer: deliver, logger, clock, ...o.deps });
  const engine = newEngine();
  await engine.start();
  const idle = async () => {
    await vi.waitFor(() => {
      if (inFlight() > 0) throw new Error(`${inFlight()} Luma calls in flight`);
      if (deliver.busy > 0) throw new Error(`${deliver.busy} deliveries running`);
    }, { timeout: 10_000, interval: 2 });
  };
  let n = 0;
  const submitMany = async (userId: string, prompt: string, count: number, guildId: string | null): Promise<JobRecord[]> => {
    const spec: JobSpec = {
      kind: 'imagine',
      request: { prompt, model: 'uni-1', type: 'image' },
      inputs: [],
      display: { prompt, model: 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, webSearch: false, references: 0 },
    };
    const jobs = newJobs(spec, count, { userId, guildId, channelId: '1200000000000000002', userInstalled: false }, { n: n++ }, clock.now());
    await engine.enqueue(jobs);
    return jobs;
  };
  const world: EngineWorld = {
    clock,
    luma,
    engine,
    records,
    storage,
    deliver,
    calls,
    lines,
    async submit(userId, prompt, s = {}) {
      const [job] = await submitMany(userId, prompt, 1, s.guildId === undefined ? '1000000000000000001' : s.guildId);
      if (!job) throw new Error('no job');
      return job;
    },
    submitMany: (userId, prompt, count) => submitMany(userId, prompt, count, '1000000000000000001'),
    async run(ms, stepMs = 100) {
      for (let t = 0; t < ms; t += stepMs) {
        await clock.advance(Math.min(stepMs, ms - t));
        await idle();
      }
    },
    idle,
    async startAgain() {
      world.engine = newEngine();
      await world.engine.start();
    },
    async close() {
      const stopping = world.engine.stop(0).catch(() => undefined);
      await clock.advance(2000); // the grace periods of stop() run on this clock
      await stopping;
      await luma.close();
      await http.close();
      await storage.close();
    },
  };
  return world;
}

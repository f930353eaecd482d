// `npm run bench [-- --jobs 200 --concurrency 20 ...]`: the fakes in this process, the real bot (the entry point,
// `src/index.ts`) as a child process, N /imagine jobs fired at once with Luma's timing shortened about tenfold,
// and the figures that matter printed at the end: a table, then one JSON line. Loopback only, bounded in jobs and
// time; it stops by itself. Timing goals live here, not in tests.
//
// Modes:
//   (default)          200 jobs from 50 members, concurrency 20, no per-minute limit worth the name
//   --plan RPM/CONC    a fake Luma that enforces that plan (sliding-minute RPM, concurrency 429s); 60 jobs from 20
//                      members with 2–6 s generations; reports wall time against the perfect-client floor and the
//                      429s by kind. The bot is configured with the same limits (its ceiling) and learns the rest.
//   --burst            2,000 jobs from 400 members, plan limits set high
//   --outage           400 jobs from 100 members fired while Luma answers 502 to everything, for --outage-s (90) s;
//                      the bot keeps its default LUMA_MAX_REQUESTS_PER_MINUTE (30) and concurrency (10), the fake
//                      advertises and enforces 120 a minute (--plan changes it); reports the requests sent during
//                      the outage, recovery to the last delivery, and the drain's pace (test/bench/outage.ts)
// Every mode also times the blocked-terms check in this process (test/bench/terms.ts): 200 terms against a
// 6,000-character prompt, the first check (compiling the list) and the ones after it.
//
// Options (flags or BENCH_* environment variables; each mode sets its own defaults):
//   --jobs N           jobs to fire                  --members N        members they come from
//   --concurrency N    LUMA_MAX_CONCURRENT_JOBS      --per-member N     MAX_JOBS_PER_USER (2)
//   --queued-ms N      time queued at Luma (300)     --processing-ms N  mean processing time, ±50 % (3000)
//   --poll-ms N        POLL_INTERVAL_MS (250)        --progress-ms N    PROGRESS_INTERVAL_MS (300)
//   --image-px N       side of the noise PNG Luma returns (512 → ~0.8 MB)
//   --transfer-mb N    TRANSFER_BUDGET_MB (32)       --timeout-s N      give up after this long (180; plan 300)
//   --cpu-prof DIR     write a V8 CPU profile of the bot into DIR (open it in Chrome DevTools)
//   --heap-snapshot    ask the bot for a heap snapshot (into the working directory) when the last job was fired
//   --memory-trace     sample the bot's process.memoryUsage() every 100 ms (test/bench/memory-sampler.mjs) and
//                      report where its memory was at the peak: V8's heap, Buffers and ArrayBuffers, the rest
//   --malloc-arena-max N  MALLOC_ARENA_MAX for the bot (2, as the Docker image; 0 leaves glibc's default)
//   --log-level L      the bot's LOG_LEVEL (info: the bench reads the learned limits and the event-loop delay from it)
//   --source           run the bot from its sources through tsx (as the tests do) instead of the build in dist/,
//                      which `npm run bench` makes first (prebench); tsx costs the bot some 50 MB more RSS
//   --workers N        N bot processes in HTTP interactions mode on one Redis (127.0.0.1:6379, or BENCH_REDIS_URL),
//                      the fake POSTing commands to them round-robin; ack p99 and peak RSS are reported per worker
//   --http             one worker in HTTP interactions mode (as --workers 1 would be, were it not the gateway)
//   --kill-worker      with --workers: halfway through firing, once the first worker has answered the commands sent
//                      to it and stored their jobs, kill it with -9 (and take it out of the rotation); every job it had accepted must be
//                      delivered once by the others
//   BENCH_NODE_ARGS    extra node flags for the bot, space-separated (experiments with V8's settings)
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { noisePng } from '../../dev/fakes/png.js';
import { spawnBot, startWorld } from '../../dev/fakes/world.js';
import { opt } from '../helpers/harness.js';
import { perfectClientFloorMs } from './floor.js';
import { messageText } from '../helpers/message-text.js';
import { DEFAULT_RPM, OUTAGE_PLAN, outageFigures, outageLines, startOutage } from './outage.js';
import type { FakeDiscord } from '../../dev/fakes/discord/server.js';
import { benchNamespace, dropNamespace, endpointOf, workerEnv, type WorkerFigures } from './workers.js';
import { termsFigures } from './terms.js';

const { values } = parseArgs({
  options: {
    plan: { type: 'string' },
    burst: { type: 'boolean' },
    outage: { type: 'boolean' },
    'outage-s': { type: 'string' },
    jobs: { type: 'string' },
    members: { type: 'string' },
    concurrency: { type: 'string' },
    'per-member': { type: 'string' },
    'queued-ms': { type: 'string' },
    'processing-ms': { type: 'string' },
    'poll-ms': { type: 'string' },
    'progress-ms': { type: 'string' },
    'image-px': { type: 'string' },
    'transfer-mb': { type: 'string' },
    'timeout-s': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'heap-snapshot': { type: 'boolean' },
    'memory-trace': { type: 'boolean' },
    source: { type: 'boolean' },
    'log-level': { type: 'string' },
    'malloc-arena-max': { type: 'string' },
    workers: { type: 'string' },
    'kill-worker': { type: 'boolean' },
    http: { type: 'boolean' },
  },
});
type NumFlag = Exclude<keyof typeof values, 'plan' | 'burst' | 'outage' | 'cpu-prof' | 'heap-snapshot' | 'memory-trace' | 'source' | 'log-level' | 'kill-worker' | 'http'>;
const num = (flag: NumFlag, fallback: number, max: number): number => {
  const raw = values[flag] ?? process.env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new Error(`--${flag} must be a number from 0 to ${max}`);
  return Math.floor(n);
};

const planRaw = values.plan ?? process.env.BENCH_PLAN;
const outageMode = values.outage ?? process.env.BENCH_OUTAGE === '1';
const MODE: 'default' | 'plan' | 'burst' | 'outage' = outageMode ? 'outage' : planRaw !== undefined ? 'plan' : (values.burst ?? process.env.BENCH_BURST === '1') ? 'burst' : 'default';
const PLAN = (() => {
  if (planRaw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(planRaw);
  if (!m) throw new Error(`--plan must be RPM/CONCURRENT, e.g. 30/10, got ${JSON.stringify(planRaw)}`);
  return { rpm: Math.max(1, Number(m[1])), concurrent: Math.max(1, Number(m[2])) };
})();
const defaults = {
  default: { jobs: 200, members: 50, concurrency: 20 },
  plan: { jobs: 60, members: 20, concurrency: PLAN?.concurrent ?? 10 },
  burst: { jobs: 2000, members: 400, concurrency: 1000 },
  outage: { jobs: 400, members: 100, concurrency: 10 },
}[MODE];
/** The plan the fake Luma enforces and advertises (none: no limits, no X-RateLimit headers). */
const LUMA_PLAN = PLAN ?? (MODE === 'outage' ? OUTAGE_PLAN : undefined);
const OUTAGE_MS = Math.max(1, num('outage-s', 90, 3600)) * 1000;
const JOBS = Math.max(1, num('jobs', defaults.jobs, 20_000));
const MEMBERS = Math.max(1, num('members', defaults.members, 5000));
const CONCURRENCY = Math.max(1, num('concurrency', defaults.concurrency, 1000));
const RPM = MODE === 'outage' ? DEFAULT_RPM : (PLAN?.rpm ?? 10_000);
const PER_MEMBER = Math.max(1, num('per-member', 2, 100));
// Plan mode: generations of 2–6 s, as the issue's measurement (0.5 s queued, then 1.5–5.5 s processing).
const QUEUED_MS = num('queued-ms', MODE === 'plan' ? 500 : 300, 60_000);
const PROCESSING_MS = Math.max(1, num('processing-ms', MODE === 'plan' ? 3500 : 3000, 120_000));
const SPREAD = MODE === 'plan' ? 2000 / 3500 : 0.5;
const POLL_MS = Math.max(50, num('poll-ms', 250, 60_000));
const PROGRESS_MS = num('progress-ms', 300, 60_000);
const IMAGE_PX = Math.max(8, num('image-px', 512, 2048));
const TRANSFER_MB = Math.max(1, num('transfer-mb', 32, 4096));
const ARENAS = num('malloc-arena-max', 2, 64);
const TIMEOUT_MS = Math.max(5, num('timeout-s', MODE === 'plan' ? 300 : MODE === 'outage' ? 600 : 180, 1800)) * 1000;
const WORKERS = Math.max(1, num('workers', 1, 16));
const KILL_WORKER = (values['kill-worker'] ?? process.env.BENCH_KILL_WORKER === '1') && WORKERS > 1;
const MEMORY_TRACE = values['memory-trace'] ? join(mkdtempSync(join(tmpdir(), 'bench-memory-')), 'trace.jsonl') : undefined;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const pct = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s.at(-1) ?? NaN, n: s.length };
};
const sec = (n: number): string => (Number.isFinite(n) ? `${(n / 1000).toFixed(2)} s` : '—');
const dist = (values: number[]): string => {
  const d = pct(values);
  return `p50 ${sec(d.p50)} · p95 ${sec(d.p95)} · p99 ${sec(d.p99)} · max ${sec(d.max)} (n=${d.n})`;
};
const round = (n: number, digits = 0) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/** A process's resident set now (`VmRSS`) or its high-water mark since start (`VmHWM`), bytes; Linux only. */
function rss(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used (Linux: utime + stime from /proc/<pid>/stat, at 100 ticks a second). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface MemorySample {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The bot's memory sample with the highest RSS, and the most ArrayBuffer memory seen, from the sampler's file. */
function memoryAtPeak(file: string): { peak: MemorySample; arrayBuffersMax: number } | undefined {
  let samples: MemorySample[];
  try {
    samples = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as MemorySample);
  } catch {
    return undefined;
  }
  const peak = samples.reduce<MemorySample | undefined>((best, s) => (best === undefined || s.rss > best.rss ? s : best), undefined);
  return peak && { peak, arrayBuffersMax: Math.max(...samples.map((s) => s.arrayBuffers)) };
}

async function main(): Promise<void> {
  const terms = await termsFigures();
  const image = noisePng(IMAGE_PX, IMAGE_PX, 42);
  // Deterministic spread of processing times around the mean, so runs compare.
  let seed = 7;
  const jitter = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 1 - SPREAD + 2 * SPREAD * (seed / 2 ** 31);
  };
  const durations = Array.from({ length: JOBS }, () => Math.round(PROCESSING_MS * jitter()));
  const nodeArgs = [
    ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
    ...(values['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2'] : []),
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ...(MEMORY_TRACE ? ['--import', pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), 'memory-sampler.mjs')).href] : []),
  ];
  const world = await startWorld({
    env: {
      LOG_FORMAT: 'json',
      LOG_LEVEL: values['log-level'] ?? 'info',
      POLL_INTERVAL_MS: String(POLL_MS),
      PROGRESS_INTERVAL_MS: String(PROGRESS_MS),
      LUMA_MAX_CONCURRENT_JOBS: String(CONCURRENCY),
      LUMA_MAX_REQUESTS_PER_MINUTE: String(RPM),
      MAX_JOBS_PER_USER: String(PER_MEMBER),
      TRANSFER_BUDGET_MB: String(TRANSFER_MB),
      QUOTA_DEFAULT_LIMIT: 'unlimited',
      ...(MEMORY_TRACE ? { BENCH_MEMORY_TRACE: MEMORY_TRACE } : {}),
      // As the Docker image runs it: glibc's per-thread malloc arenas otherwise keep ~100 MB of freed memory.
      ...(ARENAS > 0 ? { MALLOC_ARENA_MAX: String(ARENAS) } : {}),
    },
    luma: { queuedMs: QUEUED_MS, processingMs: PROCESSING_MS, outputImage: () => image, ...(LUMA_PLAN ? { plan: LUMA_PLAN } : {}) },
    tempPrefix: 'luma-bench-',
  });
  // One bot on the world's SQLite file, or --workers bots in HTTP mode on one Redis namespace.
  const namespace = WORKERS > 1 || values.http ? benchNamespace() : undefined;
  const env = namespace ? { ...world.env, ...workerEnv(world.discord, namespace) } : world.env;
  const bots = Array.from({ length: WORKERS }, () => spawnBot({ ...world, env }, { nodeArgs, ...(values.source ? {} : { builtEntry: 'dist/src/index.js' }) }));
  const bot = bots[0] as (typeof bots)[number];
  await Promise.all(bots.map((b) => b.waitForLog((l) => l.msg === 'bot ready', 60_000, "'bot ready'"))).catch(async (err: unknown) => {
    for (const b of bots) await b.kill('SIGKILL');
    await world.close();
    throw err;
  });
  const endpoints = namespace ? bots.map(endpointOf) : [];
  if (namespace) await world.discord.useInteractionsEndpoints(endpoints);
  const h = { discord: world.discord, luma: world.luma, bot, lines: bots.flatMap((b) => b.lines) };
  const pids = bots.map((b) => b.child.pid);
  const pid = pids[0];
  const startupHwm = rss(pid, 'VmHWM');
  // The bots' memory while they work (from the first command on), not the start-up's transient peak.
  const peaks = bots.map(() => 0);
  const sampler = setInterval(() => {
    pids.forEach((p, n) => (peaks[n] = Math.max(peaks[n] ?? 0, rss(p, 'VmRSS') ?? 0)));
  }, 100);
  const hardStop = setTimeout(() => {
    console.error(`bench: gave up after ${TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, TIMEOUT_MS + 60_000);
  hardStop.unref();

  console.log(
    `bench (${MODE}): ${JOBS} jobs from ${MEMBERS} members · Luma ${QUEUED_MS} ms queued + ${PROCESSING_MS} ms ±${Math.round(SPREAD * 100)} % processing · ` +
      `${LUMA_PLAN ? `plan ${LUMA_PLAN.rpm} RPM / ${LUMA_PLAN.concurrent} concurrent (enforced by the fake)` : `concurrency ${CONCURRENCY}`} · ` +
      `${MODE === 'outage' ? `bot at ${RPM} RPM / ${CONCURRENCY} concurrent · Luma down for ${OUTAGE_MS / 1000} s as the jobs arrive · ` : ''}` +
      `poll ${POLL_MS} ms · progress ${PROGRESS_MS} ms · transfers ${TRANSFER_MB} MB · result ${(image.length / 1024).toFixed(0)} kB`,
  );
  // Plans are consumed in the order Luma accepts POSTs: the i-th accepted POST takes durations[i].
  for (const processingMs of durations) h.luma.planNext({ processingMs });
  const outage = MODE === 'outage' ? startOutage(h.luma, OUTAGE_MS) : undefined;
  const started = Date.now();
  const cpuOf = () => pids.reduce<number>((sum, p) => sum + (cpuSeconds(p) ?? 0), 0);
  const botCpuAtStart = cpuOf();
  const fakesCpuAtStart = process.cpuUsage();
  const jobs: { id: string; token: string; prompt: string; member: string; firedAt: number }[] = [];
  for (let n = 0; n < JOBS; n++) {
    if (KILL_WORKER && n === Math.floor(JOBS / 2)) {
      // Once it has answered every command sent to it so far and stored (accepted) each one's job: their jobs are its
      // own, queued or at Luma, when it dies. (A process killed between its answer and the job's save loses that job,
      // gateway or HTTP alike: the member's reply stays "thinking…".)
      const toFirst = () => h.discord.httpDeliveries.filter((d) => d.endpoint === endpoints[0]);
      const accepted = () => toFirst().every((d) => d.status !== 0 || d.error !== undefined) && (bots[0]?.lines.filter((l) => l.msg === 'job queued').length ?? 0) >= toFirst().filter((d) => d.status === 200).length;
      while (!accepted()) await new Promise((r) => setTimeout(r, 20));
      await bots[0]?.kill('SIGKILL');
      await h.discord.useInteractionsEndpoints(endpoints.slice(1));
    }
    const member = `8000000000000${String(n % MEMBERS).padStart(5, '0')}`;
    const prompt = `bench job ${n}`;
    const firedAt = Date.now();
    const { id, token } = await h.discord.slashCommand({
      name: 'imagine',
      user: { id: member, username: `bench${n % MEMBERS}` },
      options: [opt.string('prompt', prompt)],
    });
    jobs.push({ id, token, prompt, member, firedAt });
  }
  const firedIn = Date.now() - started;
  if (values['heap-snapshot']) h.bot.child.kill('SIGUSR2');

  // A command whose POST failed (sent to the killed worker as it died) was never accepted: Discord says "did not respond".
  const refusedIds = () => new Set(h.discord.httpDeliveries.filter((d) => d.error !== undefined || (d.status !== 0 && d.status !== 200)).map((d) => d.interactionId));
  const finished = (t: string) => {
    const m = h.discord.original(t);
    return m !== undefined && (m.attachments.length > 0 || messageText(m).includes('could not'));
  };
  const deadline = started + TIMEOUT_MS;
  // Only the jobs not seen finished yet are looked at again: this loop shares its thread with the fakes.
  let waiting = jobs;
  while (Date.now() < deadline) {
    const refused = refusedIds();
    waiting = waiting.filter((j) => !finished(j.token) && !refused.has(j.id));
    if (waiting.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const lost = refusedIds();
  const done = jobs.length - waiting.length - lost.size;
  outage?.stop();
  clearInterval(sampler);
  // Who was busy: on a loaded machine the fakes (this process) can be the bottleneck rather than the bot.
  const botCpu = cpuOf() - botCpuAtStart;
  const botPeakRss = Math.max(...peaks);
  const fakesUsage = process.cpuUsage(fakesCpuAtStart);
  const fakesCpu = (fakesUsage.user + fakesUsage.system) / 1e6;
  for (const b of bots) await b.kill('SIGTERM');
  h.lines = bots.flatMap((b) => b.lines);
  const loop = h.lines.find((l) => l.msg === 'event-loop delay since start')?.eventLoopDelay as { p50Ms: number; p99Ms: number; maxMs: number } | undefined;

  // ——— figures ———
  const byPrompt = new Map(h.luma.generations().map((g) => [g.request.prompt, g]));
  const deliveries: number[] = [];
  const acks: number[] = [];
  // Where an acknowledgement's time goes: reaching the bot's handler (gateway, parsing, a busy event loop), then
  // from the handler to the callback's arrival at Discord (the deferral's REST call).
  const handledAt = new Map<unknown, number>();
  for (const l of h.lines) if (l.msg === 'command' && typeof l.time === 'number') handledAt.set(l.interactionId, l.time);
  const toHandler: number[] = [];
  const handlerToAck: number[] = [];
  const progressLag: number[] = [];
  const readyToDelivered: number[] = [];
  const editsPerJob: number[] = [];
  let lastDelivery = started;
  let failures = 0;
  let compressed = 0;
  // When, from the first command, the last command reached the bot's handler and the fake took the last ack: a last
  // handler long before the last ack means the acks waited on the receiving side (the fake shares the machine).
  let lastHandled = 0;
  let lastAck = 0;
  for (const j of jobs) {
    const ack = h.discord.callbacks(j.token)[0];
    if (ack) {
      acks.push(ack.at - j.firedAt);
      lastAck = Math.max(lastAck, ack.at - started);
    }
    const handled = handledAt.get(j.id);
    if (handled !== undefined) {
      toHandler.push(handled - j.firedAt);
      lastHandled = Math.max(lastHandled, handled - started);
    }
    if (handled !== undefined && ack) handlerToAck.push(ack.at - handled);
    const edits = h.discord.edits(j.token);
    editsPerJob.push(edits.length);
    const upload = edits.find((e) => e.files.length > 0);
    if (upload) {
      deliveries.push(upload.at - j.firedAt);
      lastDelivery = Math.max(lastDelivery, upload.at);
    } else if (finished(j.token) && !lost.has(j.id)) failures++;
    if (upload && JSON.stringify(upload.json).includes('compressed')) compressed++;
    // How long after Luma started processing the member saw "Generating…": poll cadence + edit latency.
    const g = byPrompt.get(j.prompt);
    const generating = edits.find((e) => JSON.stringify(e.json).includes('Generating'));
    if (g && generating) progressLag.push(generating.at - g.timing.queuedUntil);
    // The bot's own share: from the image existing at Luma to the member having it (poll lag, download, upload).
    if (g && upload) readyToDelivered.push(upload.at - g.timing.finishAt);
  }
  const wall = lastDelivery - started;
  // Delivered once: no job's reply got its image uploaded twice.
  const uploadedTwice = jobs.filter((j) => h.discord.edits(j.token).filter((e) => e.files.length > 0).length > 1).length;
  const workers = workerFigures(h.discord, jobs, endpoints, peaks);
  const killedAccepted = KILL_WORKER ? jobs.filter((j) => h.discord.httpDeliveries.some((d) => d.interactionId === j.id && d.endpoint === endpoints[0] && d.status === 200)) : [];
  const killedDelivered = killedAccepted.filter((j) => h.discord.edits(j.token).some((e) => e.files.length > 0)).length;
  const posts = h.luma.posts();
  const generations = h.luma.generations();
  const gets = h.luma.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/generations/')).length;
  const downloads = h.luma.requests.filter((r) => r.path.startsWith('/files/')).length;
  const failedLogs = h.lines.filter((l) => l.msg === 'job failed').length;
  // Interactions never acknowledged within Discord's 3 s: no job was ever made for them.
  const unacknowledged = jobs.filter((j) => h.discord.callbacks(j.token).length === 0).length;
  const discord429 = h.discord.requests.filter((r) => r.status === 429).length;
  const luma429 = { requests: posts.filter((r) => r.limitedBy === 'requests').length, concurrency: posts.filter((r) => r.limitedBy === 'concurrency').length };
  // Fairness: no member's second job goes to Luma while another member's first job waits in the bot's queue. A
  // first job counts as waiting from a second after its command was acknowledged (the reservation and the save
  // come after the acknowledgement); in the first instants of a burst the bot sends whatever has reached its queue
  // — a job whose command is still being handled cannot be sent, and holding the queue back for it would waste the
  // window.
  const byTime = [...generations].sort((a, b) => a.createdAt - b.createdAt);
  const order = byTime.map((g) => g.request.user_id);
  const firstPostAt = new Map<string, number>();
  for (const g of byTime) if (!firstPostAt.has(g.request.user_id ?? '')) firstPostAt.set(g.request.user_id ?? '', g.createdAt);
  const firstAckAt = new Map<string, number>();
  for (const j of jobs) {
    const at = h.discord.callbacks(j.token)[0]?.at;
    if (at !== undefined && at < (firstAckAt.get(j.member) ?? Infinity)) firstAckAt.set(j.member, at);
  }
  const seen = new Set<string>();
  let overtaken = 0;
  for (const g of byTime) {
    const m = g.request.user_id ?? '';
    if (seen.has(m)) {
      for (const [other, ackAt] of firstAckAt) {
        if (other !== m && ackAt + 1000 <= g.createdAt && (firstPostAt.get(other) ?? Infinity) > g.createdAt) overtaken++;
      }
    }
    seen.add(m);
  }
  const fair = overtaken === 0;
  const firstRound = Math.min(MEMBERS, JOBS);
  const floor = PLAN && MODE === 'plan' ? perfectClientFloorMs(durations.map((d) => d + QUEUED_MS), PLAN.rpm, PLAN.concurrent) : undefined;
  const learned = h.lines.filter((l) => l.msg === 'Luma limits changed').map((l) => ({ rpm: l.requestsPerMinute, concurrent: l.concurrentJobs }));

  const mb = (n: number | undefined) => (n === undefined || n === 0 ? '—' : `${(n / 1024 / 1024).toFixed(0)} MB`);
  console.log('');
  console.log(`  delivered            ${deliveries.length}/${JOBS} in ${sec(wall)} (fired in ${sec(firedIn)})${done < JOBS ? `  — ${JOBS - done} UNFINISHED at the time limit` : ''}`);
  if (floor !== undefined) {
    console.log(`  perfect-client floor ${sec(floor)} · ratio ${(wall / floor).toFixed(2)}× · fairness ${fair ? 'kept' : `BROKEN (${overtaken} waiting first jobs overtaken)`} (first ${firstRound} POSTs from ${new Set(order.slice(0, firstRound)).size} members)`);
  }
  const outageReport = outage ? outageFigures(h.luma, outage, deliveries.length > 0 ? lastDelivery : undefined, LUMA_PLAN?.rpm ?? 0) : undefined;
  if (outageReport) for (const line of outageLines(outageReport)) console.log(line);
  console.log(`  Luma 429s            ${luma429.requests} per-minute · ${luma429.concurrency} concurrency · learned limits ${learned.length === 0 ? 'unchanged' : learned.map((l) => `${String(l.rpm)}/${String(l.concurrent)}`).join(' → ')}`);
  console.log(`  command → ack        ${dist(acks)}`);
  console.log(`    … → bot's handler  ${dist(toHandler)}`);
  console.log(`    handler → ack      ${dist(handlerToAck)}`);
  console.log(`    last handled ${sec(lastHandled)} · last ack taken by the fake ${sec(lastAck)} (from the first command)`);
  console.log(`  command → delivery   ${dist(deliveries)}`);
  console.log(`  ready at Luma → delivered (delivery overhead)  ${dist(readyToDelivered)}`);
  console.log(`  processing → "Generating…" shown  ${dist(progressLag)}`);
  console.log(`  progress edits/job   mean ${(editsPerJob.reduce((a, b) => a + b, 0) / Math.max(1, editsPerJob.length)).toFixed(1)}`);
  console.log(`  Luma POSTs           ${posts.length} for ${JOBS} jobs (${generations.length} generations; duplicates ${Math.max(0, generations.length - JOBS)})`);
  console.log(`  Luma polls           ${gets} GETs (${(gets / Math.max(1, generations.length)).toFixed(1)} per job) · downloads ${downloads}`);
  console.log(`  failures             ${failures} shown to members · ${failedLogs} logged · ${unacknowledged} commands not acknowledged in 3 s · compressed uploads ${compressed} · Discord 429s ${discord429}`);
  console.log(`  CPU                  bot ${botCpu.toFixed(1)} s · fakes and bench ${fakesCpu.toFixed(1)} s over ${sec(Date.now() - started)} (2 cores shared with whatever else runs)`);
  if (namespace) {
    for (const w of workers) console.log(`  worker ${w.worker}             ${w.commands} commands · ack p99 ${w.ackP99Ms ?? '—'} ms · peak RSS ${w.peakRssMB ?? '—'} MB${w.killed ? ' · KILLED halfway' : ''}`);
    if (KILL_WORKER) console.log(`  killed worker        had accepted ${killedAccepted.length} jobs: ${killedDelivered} delivered by the others · ${lost.size} commands in flight to it when it died (never accepted)`);
    console.log(`  delivered twice      ${uploadedTwice} jobs`);
  }
  console.log(`  bot process          peak RSS ${mb(botPeakRss)} while working (start-up high-water mark ${mb(startupHwm)}) · event-loop delay (from inside the bot) p50 ${loop?.p50Ms ?? '—'} ms · p99 ${loop?.p99Ms ?? '—'} ms · max ${loop?.maxMs ?? '—'} ms`);

  const memory = MEMORY_TRACE ? memoryAtPeak(MEMORY_TRACE) : undefined;
  if (memory) {
    const { peak, arrayBuffersMax } = memory;
    console.log(
      `  memory at the peak   RSS ${peak.rss} MB = V8 heap ${peak.heapTotal} MB (${peak.heapUsed} used) + Buffers/ArrayBuffers ${peak.arrayBuffers} MB + ` +
        `${peak.rss - peak.heapTotal - peak.arrayBuffers} MB other native memory (code, libraries, the allocator's free lists) · ArrayBuffers at most ${arrayBuffersMax} MB · trace ${MEMORY_TRACE}`,
    );
  }

  // What went wrong, if anything: the bot's warnings and errors by message.
  const problems = new Map<string, { n: number; why: string }>();
  for (const l of h.lines) {
    if (l.level < 40) continue;
    const seen = problems.get(l.msg);
    const err = l.err as { message?: unknown } | undefined;
    problems.set(l.msg, { n: (seen?.n ?? 0) + 1, why: seen?.why ?? (typeof err?.message === 'string' ? ` (first: ${err.message.slice(0, 120)})` : '') });
  }
  if (problems.size > 0) {
    const top = [...problems].sort((x, y) => y[1].n - x[1].n).slice(0, 6);
    console.log(`  bot warnings/errors  ${top.map(([msg, { n, why }]) => `${n}× ${msg}${why}`).join(' · ')}`);
  }

  console.log(
    `  blocked terms        ${terms.terms} terms against a ${terms.promptChars}-character prompt: ${terms.checkMs} ms a check (${terms.firstCheckMs} ms the first, compiling the list)`,
  );

  const ok = done === JOBS - lost.size && failures === 0 && generations.length === JOBS - lost.size && uploadedTwice === 0 && killedDelivered === killedAccepted.length;
  const d = pct(deliveries);
  const o = pct(readyToDelivered);
  const a = pct(acks);
  console.log(
    JSON.stringify({
      bench: MODE,
      ok,
      jobs: JOBS,
      members: MEMBERS,
      plan: LUMA_PLAN ?? null,
      delivered: deliveries.length,
      wallMs: wall,
      floorMs: floor ?? null,
      floorRatio: floor ? round(wall / floor, 3) : null,
      fair,
      luma429,
      learnedLimits: learned,
      ackMs: { p50: round(a.p50), p99: round(a.p99), max: round(a.max), toHandlerP99: round(pct(toHandler).p99), handlerToAckP99: round(pct(handlerToAck).p99), lastHandledMs: lastHandled, lastAckMs: lastAck },
      deliveryMs: { p50: round(d.p50), p99: round(d.p99) },
      overheadMs: { p50: round(o.p50), p95: round(o.p95), p99: round(o.p99), max: round(o.max) },
      posts: posts.length,
      duplicates: Math.max(0, generations.length - JOBS),
      failures,
      unacknowledged,
      discord429,
      peakRssMB: botPeakRss === 0 ? null : Math.round(botPeakRss / 1024 / 1024),
      startupRssHwmMB: startupHwm === undefined ? null : Math.round(startupHwm / 1024 / 1024),
      eventLoopDelayMs: loop ?? null,
      cpuSeconds: { bot: round(botCpu, 1), fakes: round(fakesCpu, 1) },
      blockedTermsMs: { check: terms.checkMs, first: terms.firstCheckMs, terms: terms.terms, promptChars: terms.promptChars },
      ...(namespace ? { workers, uploadedTwice, ...(KILL_WORKER ? { killedWorker: { accepted: killedAccepted.length, delivered: killedDelivered, neverAccepted: lost.size } } : {}) } : {}),
      ...(memory ? { memoryAtPeakMB: memory.peak } : {}),
      ...(outageReport ? { outage: outageReport } : {}),
    }),
  );

  await world.close();
  if (namespace) await dropNamespace(namespace);
  clearTimeout(hardStop);
  process.exitCode = ok ? 0 : 1;
}

/** Per worker: the commands it got, their ack p99, its peak RSS. */
function workerFigures(discord: FakeDiscord, jobs: Array<{ id: string; token: string; firedAt: number }>, endpoints: string[], peaks: number[]): WorkerFigures[] {
  return endpoints.map((endpoint, worker) => {
    const mine = jobs.filter((j) => discord.httpDeliveries.some((d) => d.interactionId === j.id && d.endpoint === endpoint));
    const acks = mine.flatMap((j) => {
      const at = discord.callbacks(j.token)[0]?.at;
      return at === undefined ? [] : [at - j.firedAt];
    });
    const p99 = pct(acks).p99;
    return { worker, endpoint, commands: mine.length, ackP99Ms: round(p99), peakRssMB: peaks[worker] ? Math.round((peaks[worker] ?? 0) / 1024 / 1024) : null, killed: KILL_WORKER && worker === 0 };
  });
}

main().catch((err: unknown) => {
  console.error('bench crashed:', err);
  process.exit(1);
});

// `npm run bench [-- --jobs 200 --concurrency 20 ...]`: the fakes and the real bot (startBot, in this process),
// N /imagine jobs fired at once with Luma's timing shortened about tenfold, and the figures that matter printed at
// the end. Loopback only, bounded in jobs and time; it stops by itself. Timing goals live here, not in tests.
//
// Options (flags or BENCH_* environment variables):
//   --jobs N           jobs to fire (200)            --members N      members they come from (50)
//   --concurrency N    LUMA_MAX_CONCURRENT_JOBS (20) --per-member N   MAX_JOBS_PER_USER (2)
//   --queued-ms N      time queued at Luma (300)     --processing-ms N  mean processing time, ±50 % (3000)
//   --poll-ms N        POLL_INTERVAL_MS (250)        --progress-ms N  PROGRESS_INTERVAL_MS (300)
//   --image-px N       side of the noise PNG Luma returns (512 → ~0.8 MB)
//   --transfers N      TRANSFER_CONCURRENCY (4)
//   --timeout-s N      give up after this long (180)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { noisePng } from '../../dev/fakes/png.js';
import { opt, startHarness } from '../helpers/harness.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string' },
    members: { type: 'string' },
    concurrency: { type: 'string' },
    'per-member': { type: 'string' },
    'queued-ms': { type: 'string' },
    'processing-ms': { type: 'string' },
    'poll-ms': { type: 'string' },
    'progress-ms': { type: 'string' },
    'image-px': { type: 'string' },
    transfers: { type: 'string' },
    'timeout-s': { type: 'string' },
  },
});
const num = (flag: keyof typeof values, env: string, fallback: number, max: number): number => {
  const raw = values[flag] ?? process.env[env];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new Error(`--${flag} must be a number from 0 to ${max}`);
  return Math.floor(n);
};
const JOBS = Math.max(1, num('jobs', 'BENCH_JOBS', 200, 2000));
const MEMBERS = Math.max(1, num('members', 'BENCH_MEMBERS', 50, 2000));
const CONCURRENCY = Math.max(1, num('concurrency', 'BENCH_CONCURRENCY', 20, 1000));
const PER_MEMBER = Math.max(1, num('per-member', 'BENCH_PER_MEMBER', 2, 100));
const QUEUED_MS = num('queued-ms', 'BENCH_QUEUED_MS', 300, 60_000);
const PROCESSING_MS = Math.max(1, num('processing-ms', 'BENCH_PROCESSING_MS', 3000, 120_000));
const POLL_MS = Math.max(50, num('poll-ms', 'BENCH_POLL_MS', 250, 60_000));
const PROGRESS_MS = num('progress-ms', 'BENCH_PROGRESS_MS', 300, 60_000);
const IMAGE_PX = Math.max(8, num('image-px', 'BENCH_IMAGE_PX', 512, 2048));
const TRANSFERS = Math.max(1, num('transfers', 'BENCH_TRANSFERS', 4, 64));
const TIMEOUT_MS = Math.max(5, num('timeout-s', 'BENCH_TIMEOUT_S', 180, 1800)) * 1000;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const ms = (n: number): string => (Number.isFinite(n) ? `${(n / 1000).toFixed(2)} s` : '—');
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;
const dist = (values: number[]): string => {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${ms(quantile(s, 0.5))} · p95 ${ms(quantile(s, 0.95))} · max ${ms(s.at(-1) ?? NaN)} (n=${s.length})`;
};

async function main(): Promise<void> {
  const image = noisePng(IMAGE_PX, IMAGE_PX, 42);
  // Deterministic spread of processing times (±50 % around the mean), so runs compare.
  let seed = 7;
  const jitter = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 0.5 + seed / 2 ** 31;
  };
  const h = await startHarness({
    env: {
      LOG_LEVEL: 'warn',
      POLL_INTERVAL_MS: String(POLL_MS),
      PROGRESS_INTERVAL_MS: String(PROGRESS_MS),
      LUMA_MAX_CONCURRENT_JOBS: String(CONCURRENCY),
      LUMA_MAX_REQUESTS_PER_MINUTE: '10000',
      MAX_JOBS_PER_USER: String(PER_MEMBER),
      TRANSFER_CONCURRENCY: String(TRANSFERS),
      QUOTA_DEFAULT_LIMIT: 'unlimited',
    },
    luma: { queuedMs: QUEUED_MS, processingMs: PROCESSING_MS, outputImage: () => image },
  });
  const started = Date.now();
  const hardStop = setTimeout(() => {
    console.error(`bench: gave up after ${TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, TIMEOUT_MS + 30_000);
  hardStop.unref();

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  const base = process.memoryUsage();

  console.log(
    `bench: ${JOBS} jobs from ${MEMBERS} members · Luma ${QUEUED_MS} ms queued + ~${PROCESSING_MS} ms processing · concurrency ${CONCURRENCY} · ` +
      `poll ${POLL_MS} ms · progress ${PROGRESS_MS} ms · ${TRANSFERS} transfers · result ${(image.length / 1024).toFixed(0)} kB`,
  );
  const jobs: { token: string; prompt: string; firedAt: number }[] = [];
  for (let n = 0; n < JOBS; n++) {
    h.luma.planNext({ processingMs: Math.round(PROCESSING_MS * jitter()) });
    const member = n % MEMBERS;
    const prompt = `bench job ${n}`;
    const firedAt = Date.now();
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      user: { id: `8000000000000${String(member).padStart(5, '0')}`, username: `bench${member}` },
      options: [opt.string('prompt', prompt)],
    });
    jobs.push({ token, prompt, firedAt });
  }
  const firedIn = Date.now() - started;

  const finished = (t: string) => {
    const m = h.discord.original(t);
    return m !== undefined && (m.attachments.length > 0 || JSON.stringify(m.embeds).includes('could not'));
  };
  const deadline = started + TIMEOUT_MS;
  let done = 0;
  while (Date.now() < deadline) {
    done = jobs.filter((j) => finished(j.token)).length;
    if (done === jobs.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const wall = Date.now() - started;
  clearInterval(sampler);
  loop.disable();

  // ——— figures ———
  const byPrompt = new Map(h.luma.generations().map((g) => [g.request.prompt, g]));
  const deliveries: number[] = [];
  const progressLag: number[] = [];
  const readyToDelivered: number[] = [];
  const editsPerJob: number[] = [];
  let failures = 0;
  let compressed = 0;
  for (const j of jobs) {
    const edits = h.discord.edits(j.token);
    editsPerJob.push(edits.length);
    const upload = edits.find((e) => e.files.length > 0);
    if (upload) deliveries.push(upload.at - j.firedAt);
    else if (finished(j.token)) failures++;
    if (upload && JSON.stringify(upload.json).includes('compressed')) compressed++;
    // How long after Luma started processing the member saw "Generating…": poll cadence + edit latency.
    const g = byPrompt.get(j.prompt);
    const generating = edits.find((e) => JSON.stringify(e.json).includes('Generating'));
    if (g && generating) progressLag.push(generating.at - g.timing.queuedUntil);
    // The bot's own share: from the image existing at Luma to the member having it (poll lag, download, upload).
    if (g && upload) readyToDelivered.push(upload.at - g.timing.finishAt);
  }
  const posts = h.luma.posts().length;
  const generations = h.luma.generations().length;
  const gets = h.luma.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/generations/')).length;
  const downloads = h.luma.requests.filter((r) => r.path.startsWith('/files/')).length;
  const failedLogs = h.logs.filter((l) => l.msg === 'job failed').length;
  // Interactions never acknowledged within Discord's 3 s: no job was ever made for them.
  const unacknowledged = jobs.filter((j) => h.discord.callbacks(j.token).length === 0).length;

  console.log('');
  console.log(`  delivered            ${deliveries.length}/${JOBS} in ${ms(wall)} (fired in ${ms(firedIn)})${done < JOBS ? `  — ${JOBS - done} UNFINISHED at the time limit` : ''}`);
  console.log(`  submit → delivery    ${dist(deliveries)}`);
  console.log(`  ready at Luma → delivered  ${dist(readyToDelivered)}`);
  console.log(`  processing → "Generating…" shown  ${dist(progressLag)}`);
  console.log(`  progress edits/job   mean ${(editsPerJob.reduce((a, b) => a + b, 0) / Math.max(1, editsPerJob.length)).toFixed(1)}`);
  console.log(`  Luma POSTs           ${posts} for ${JOBS} jobs (${generations} generations; duplicates ${Math.max(0, generations - JOBS)})`);
  console.log(`  Luma polls           ${gets} GETs (${(gets / Math.max(1, generations)).toFixed(1)} per job) · downloads ${downloads}`);
  console.log(`  failures             ${failures} shown to members · ${failedLogs} logged · ${unacknowledged} commands not acknowledged in 3 s · compressed uploads ${compressed}`);
  console.log(`  memory (process, incl. fakes)  peak RSS ${mb(peakRss)} (start ${mb(base.rss)}) · peak heap ${mb(peakHeap)} (start ${mb(base.heapUsed)})`);
  console.log(`  event-loop delay     p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms · p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms · max ${(loop.max / 1e6).toFixed(1)} ms`);

  await h.close();
  clearTimeout(hardStop);
  process.exitCode = done === JOBS && failures === 0 && generations === JOBS ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error('bench crashed:', err);
  process.exit(1);
});

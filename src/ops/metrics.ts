// Prometheus metrics for one bot process, on a prom-client Registry of its own (never the global default one: two
// bots in one process, as in the tests, must not share counters). Built in the composition root and handed the
// engine, the quota service and the clients' hooks there; nothing else imports prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AccountFigures } from '../jobs/account-figures.js';
import type { JobEvents, LumaLimits } from '../jobs/events.js';
import { accountGauges } from './account-metrics.js';
import { ACTIVE_STEPS, type JobRecord, type JobStep } from '../jobs/types.js';
import type { GatewayState } from './health.js';
import type { MoneyFigures } from './money.js';
import { within } from './within.js';
import { LumaAPIError, LumaConnectionError, LumaTimeoutError, type LumaError } from '../luma/errors.js';
import { FAILURE_LABELS, label, REFUSAL_LABELS } from './metric-labels.js';

/** What the metrics read when scraped (the engine and the quota service implement these). */
export interface OpsSources {
  jobs: {
    jobStats(): { steps: Partial<Record<JobStep, number>>; oldestQueuedAt: number | undefined };
    lumaLimits(): LumaLimits;
  };
  spend: { spendToday(): Promise<{ usd: number; capUsd: number | undefined }> };
  /** The operator's money by server and premium (ops/money.ts), for /bot-status. */
  money?: (now: number) => Promise<MoneyFigures>;
  /** On Redis: the Luma account's figures, every process's (jobs/account-figures.ts); failures are counted there too. */
  account?: { read(): Promise<AccountFigures>; recordFailure(code: string): void };
  gateway(): GatewayState;
}

/** A failure of the last hour, for /bot-status. */
interface RecentFailure {
  at: number;
  code: string;
}

const HOUR_MS = 3_600_000;
/** A scrape must answer even when storage hangs: the spend gauge is left out after this long. */
const SPEND_READ_TIMEOUT_MS = 2000;
/** Luma's median is ~30 s; uni-1-max and queues stretch it. */
const GENERATION_BUCKETS = [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600];
const WAIT_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];
const DELIVERY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

/**
 * The bot's metrics. Implements the engine's JobEvents; `lumaAttemptFailed`, `discordResponse` and
 * `quotaRefused` are the hooks main.ts gives the Luma client, the REST clients and the quota service.
 */
export class BotMetrics implements JobEvents {
  readonly registry = new Registry();
  private sources: OpsSources | undefined;
  private readonly recent: RecentFailure[] = [];
  private readonly now: () => number;
  private spendRead: { at: number; result: Promise<{ usd: number; capUsd: number | undefined } | undefined> } | undefined;

  private readonly queuedTotal: Counter<'kind'>;
  private readonly failures: Counter<'code'>;
  private readonly refusals: Counter<'code'>;
  private readonly lumaErrors: Counter<'method' | 'status'>;
  private readonly discordErrors: Counter<'status' | 'auth'>;
  private readonly queueWait: Histogram;
  private readonly generation: Histogram<'model'>;
  private readonly delivery: Histogram<'via'>;

  constructor(opts: { now?: () => number; defaultLabels?: Record<string, string> } = {}) {
    this.now = opts.now ?? Date.now;
    const registers = [this.registry];
    if (opts.defaultLabels) this.registry.setDefaultLabels(opts.defaultLabels);
    // Process CPU, memory, handles, GC and the event loop's delay (nodejs_eventloop_lag_*), from prom-client.
    collectDefaultMetrics({ register: this.registry });

    this.queuedTotal = new Counter({ name: 'lumabot_jobs_queued_total', help: 'Jobs accepted into the queue, by kind (imagine, edit).', labelNames: ['kind'], registers });
    this.failures = new Counter({ name: 'lumabot_job_failures_total', help: 'Jobs that ended in a failure, by failure code (Luma failure_code, http_NNN, or ours; other for a code not on the list).', labelNames: ['code'], registers });
    this.refusals = new Counter({ name: 'lumabot_quota_refusals_total', help: 'Requests refused before reaching Luma by a quota, by code (quota_exceeded, quota_zero, quota_server_total, quota_server_ceiling, quota_server_share, quota_spend_cap; other).', labelNames: ['code'], registers });
    this.lumaErrors = new Counter({ name: 'lumabot_luma_errors_total', help: 'Failed Luma API attempts (retried ones included), by method and HTTP status, or network / timeout / bad_response. The start-up key check expects one 404.', labelNames: ['method', 'status'], registers });
    this.discordErrors = new Counter({ name: 'lumabot_discord_errors_total', help: 'Discord REST answers of 400 or more, by status and auth (bot token, or interaction webhook).', labelNames: ['status', 'auth'], registers });
    this.queueWait = new Histogram({ name: 'lumabot_queue_wait_seconds', help: 'From a job being queued to Luma accepting it, seconds.', buckets: WAIT_BUCKETS, registers });
    this.generation = new Histogram({ name: 'lumabot_generation_duration_seconds', help: 'From Luma accepting a job to the image being ready there, seconds.', labelNames: ['model'], buckets: GENERATION_BUCKETS, registers });
    this.delivery = new Histogram({ name: 'lumabot_delivery_duration_seconds', help: 'From the image being ready at Luma to the member having it on Discord, seconds, by route (original, channel, dm).', labelNames: ['via'], buckets: DELIVERY_BUCKETS, registers });

    this.jobGauges();
    this.lumaGauges();
    accountGauges(this.registry, () => this.sources?.account);
    this.gauge('lumabot_gateway_connected', '1 when every gateway shard of this process is connected to Discord, else 0.', () => {
      const state = this.sources?.gateway();
      return state && (state.connected ? 1 : 0);
    });
    this.spendGauges();
  }

  /**
   * A gauge set at each scrape to what `read` gives; left as it was when `read` gives undefined (nothing to read
   * yet). collect() runs with `this` = the gauge, so `read` is an arrow that reaches the metrics object.
   */
  private gauge(name: string, help: string, read: () => number | undefined): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });
  }

  /** The engine's jobs by step, and its queue. */
  private jobGauges(): void {
    const jobStats = () => this.sources?.jobs.jobStats();
    new Gauge({
      name: 'lumabot_jobs',
      help: 'Unfinished jobs this process works on, by step.',
      labelNames: ['step'],
      registers: [this.registry],
      collect() {
        const stats = jobStats();
        if (!stats) return;
        for (const step of ACTIVE_STEPS) this.set({ step }, stats.steps[step] ?? 0);
      },
    });
    this.gauge('lumabot_queue_length', "Jobs waiting in the bot's queue for a Luma slot.", () => {
      const stats = jobStats();
      return stats && (stats.steps.queued ?? 0);
    });
    this.gauge('lumabot_queue_oldest_wait_seconds', 'How long the oldest job still in the queue has waited, seconds (0 when the queue is empty).', () => {
      const stats = jobStats();
      return stats && (stats.oldestQueuedAt === undefined ? 0 : Math.max(0, this.now() - stats.oldestQueuedAt) / 1000);
    });
  }

  /** The limits the scheduler holds Luma to, as they stand now. */
  private lumaGauges(): void {
    const limitGauge = (name: string, help: string, pick: (l: LumaLimits) => number) =>
      this.gauge(name, help, () => {
        const limits = this.sources?.jobs.lumaLimits();
        return limits && pick(limits);
      });
    limitGauge('lumabot_luma_concurrency_limit', 'Jobs the scheduler lets be at Luma at once now (lower than configured for a minute after Luma says "too many concurrent jobs").', (l) => l.concurrency);
    limitGauge('lumabot_luma_concurrency_configured', 'LUMA_MAX_CONCURRENT_JOBS.', (l) => l.configuredConcurrency);
    limitGauge('lumabot_luma_concurrency_busy_unrefused_seconds', 'How long jobs waited for a slot at LUMA_MAX_CONCURRENT_JOBS without Luma refusing one for concurrency (since the last refusal): long means the plan may allow more.', (l) => l.busyAtConcurrencyMs / 1000);
    limitGauge('lumabot_luma_requests_per_minute_limit', 'POSTs per minute the scheduler holds to: Luma\'s X-RateLimit-Limit once reported (LUMA_MAX_REQUESTS_PER_MINUTE before), within LUMA_RPM_CEILING.', (l) => l.requestsPerMinute);
    limitGauge('lumabot_luma_requests_per_minute_configured', 'LUMA_MAX_REQUESTS_PER_MINUTE: where the per-minute limit starts.', (l) => l.configuredRequestsPerMinute);
    limitGauge('lumabot_luma_requests_per_minute_reported', "Luma's X-RateLimit-Limit, the account's per-minute limit (0 until Luma first reports it).", (l) => l.learnedRequestsPerMinute ?? 0);
    limitGauge('lumabot_luma_requests_per_minute_ceiling', 'LUMA_RPM_CEILING (0 when not set).', (l) => l.requestsPerMinuteCeiling ?? 0);
    limitGauge('lumabot_luma_posts_last_minute', 'POSTs in the last 60 s window: ours, plus others\' on the account that Luma revealed.', (l) => l.postsLastMinute);
    limitGauge('lumabot_luma_submissions_paused', '1 while submissions are paused after a per-minute 429 from Luma.', (l) => (l.pausedUntil === undefined ? 0 : 1));
    limitGauge('lumabot_luma_down', '1 while Luma is down (502/503/504 or unreachable): jobs wait, one probe at a time.', (l) => (l.luma.state === 'open' ? 1 : 0));
    limitGauge('lumabot_luma_down_seconds', 'How long Luma has been down (0 while it answers).', (l) => (l.luma.since === undefined ? 0 : Math.max(0, this.now() - l.luma.since) / 1000));
    this.lumaCounter('lumabot_luma_outages_total', 'Times this process found Luma down since it started.', (l) => l.luma.opened);
    this.lumaCounter('lumabot_luma_outage_probes_total', 'Probes this process sent while Luma was down (one at a time, 5–60 s apart).', (l) => l.luma.probes);
    const limits = () => this.sources?.jobs.lumaLimits();
    new Gauge({
      name: 'lumabot_luma_limit_source',
      help: 'Where each Luma limit in force comes from: 1 for the current source (requests_per_minute: configured, luma, ceiling; concurrency: configured, lowered), 0 for the others.',
      labelNames: ['limit', 'source'],
      registers: [this.registry],
      collect() {
        const l = limits();
        if (!l) return;
        for (const source of ['configured', 'luma', 'ceiling']) this.set({ limit: 'requests_per_minute', source }, l.requestsPerMinuteSource === source ? 1 : 0);
        const lowered = l.concurrency < l.configuredConcurrency;
        this.set({ limit: 'concurrency', source: 'configured' }, lowered ? 0 : 1);
        this.set({ limit: 'concurrency', source: 'lowered' }, lowered ? 1 : 0);
      },
    });
  }

  /** A counter that follows a running total the engine keeps (set at each scrape to it). */
  private lumaCounter(name: string, help: string, read: (l: LumaLimits) => number): void {
    const limits = () => this.sources?.jobs.lumaLimits();
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const l = limits();
        if (!l) return;
        const total = read(l);
        if (total > seen) this.inc(total - seen);
        seen = Math.max(seen, total);
      },
    });
  }

  /** The operator's spend today and its cap, read from storage (once per scrape for both). */
  private spendGauges(): void {
    const readSpend = () => this.readSpend();
    new Gauge({
      name: 'lumabot_spend_usd_today',
      help: "USD spent on Luma today (UTC), from Luma's price table; shared by every process on one storage.",
      registers: [this.registry],
      async collect() {
        const spend = await readSpend();
        if (spend) this.set(spend.usd);
      },
    });
    new Gauge({
      name: 'lumabot_spend_cap_usd',
      help: 'SPEND_CAP_USD_PER_DAY (absent when there is no cap).',
      registers: [this.registry],
      async collect() {
        const spend = await readSpend();
        if (spend?.capUsd !== undefined) this.set(spend.capUsd);
      },
    });
  }

  /** Connects what the scrape reads; called once the engine and the quota service exist. */
  observe(sources: OpsSources): void {
    this.sources = sources;
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Failures of the last hour in this process, by code, most frequent first. */
  failuresLastHour(): { total: number; byCode: [string, number][] } {
    this.prune();
    const byCode = new Map<string, number>();
    for (const f of this.recent) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
    return { total: this.recent.length, byCode: [...byCode].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) };
  }

  // ——— JobEvents ———

  queued(job: JobRecord): void {
    this.queuedTotal.inc({ kind: job.kind });
  }

  submitted(job: JobRecord): void {
    if (job.submittedAt !== undefined) this.queueWait.observe(Math.max(0, job.submittedAt - job.createdAt) / 1000);
  }

  completed(job: JobRecord): void {
    if (job.completedAt !== undefined && job.submittedAt !== undefined) {
      this.generation.observe({ model: job.request.model ?? 'uni-1' }, Math.max(0, job.completedAt - job.submittedAt) / 1000);
    }
  }

  delivered(job: JobRecord): void {
    if (job.delivery && job.completedAt !== undefined) {
      this.delivery.observe({ via: job.delivery.via }, Math.max(0, job.delivery.at - job.completedAt) / 1000);
    }
  }

  failed(_job: JobRecord, failureCode: string): void {
    const code = label(failureCode, FAILURE_LABELS);
    this.failures.inc({ code });
    this.sources?.account?.recordFailure(code);
    this.recent.push({ at: this.now(), code });
    this.prune();
  }

  // ——— hooks for the clients ———

  quotaRefused(code: string): void {
    this.refusals.inc({ code: label(code, REFUSAL_LABELS) });
  }

  lumaAttemptFailed(method: string, error: LumaError): void {
    let status = 'bad_response';
    if (error instanceof LumaAPIError) status = String(error.status);
    else if (error instanceof LumaTimeoutError) status = 'timeout';
    else if (error instanceof LumaConnectionError) status = 'network';
    this.lumaErrors.inc({ method, status });
  }

  /** A Discord REST answer (the REST clients' `response` event); counts 4xx and 5xx. */
  discordResponse(status: number, path: string): void {
    if (status < 400) return;
    // Only the kind of route, never the path: interaction webhook paths carry a secret token.
    this.discordErrors.inc({ status: String(status), auth: /^\/(webhooks|interactions)\//.test(path) ? 'interaction' : 'bot' });
  }

  private prune(): void {
    const from = this.now() - HOUR_MS;
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop]?.at ?? 0) < from) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }

  /** One storage read per scrape, shared by the two spend gauges. */
  private readSpend(): Promise<{ usd: number; capUsd: number | undefined } | undefined> {
    const now = this.now();
    if (!this.spendRead || now - this.spendRead.at > 1000) this.spendRead = { at: now, result: this.readSpendOnce() };
    return this.spendRead.result;
  }

  private async readSpendOnce(): Promise<{ usd: number; capUsd: number | undefined } | undefined> {
    const spend = this.sources?.spend;
    if (!spend) return undefined;
    try {
      const spent = await within(spend.spendToday(), SPEND_READ_TIMEOUT_MS);
      return spent === 'timeout' ? undefined : spent;
    } catch {
      return undefined; // storage down: /healthz says so; the scrape still answers
    }
  }
}

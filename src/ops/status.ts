// The operator's view without a dashboard: today's spend against the cap, the queue, the Luma limits the scheduler
// applies, failures of the last hour. Read by /bot-status and written to the log once an hour.
import { CONCURRENCY_HEADROOM_MS } from '../jobs/concurrency-watch.js';
import type { AccountFigures } from '../jobs/account-figures.js';
import type { LumaLimits } from '../jobs/events.js';
import type { BreakerStatus } from '../jobs/luma-breaker.js';
import type { JobStep } from '../jobs/types.js';
import { discordTime, periodEnd } from '../quota/periods.js';
import { formatUsd } from '../quota/pricing.js';
import type { GatewayState } from './health.js';
import type { BotMetrics, OpsSources } from './metrics.js';
import { renderMoney, type MoneyFigures } from './money.js';
import { within } from './within.js';

/** /bot-status answers without the spend when storage takes longer than this. */
const SPEND_READ_TIMEOUT_MS = 3000;

export interface OperatorStatus {
  at: number;
  /** Undefined when storage did not answer. */
  spend: { usd: number; capUsd: number | undefined } | undefined;
  steps: Partial<Record<JobStep, number>>;
  oldestQueuedAt: number | undefined;
  limits: LumaLimits;
  failures: { total: number; byCode: [string, number][] };
  gateway: GatewayState;
  storage: string;
  shard: string;
  /** Spend by server and premium counts; undefined when storage did not answer (or no source gives them). */
  money: MoneyFigures | undefined;
  /** On Redis: the Luma account's figures, every process's; undefined without Redis or when it did not answer. */
  account: AccountFigures | undefined;
}

export async function readOperatorStatus(
  sources: OpsSources,
  metrics: Pick<BotMetrics, 'failuresLastHour'>,
  where: { storage: string; shard: string },
  now: number = Date.now(),
): Promise<OperatorStatus> {
  const { steps, oldestQueuedAt } = sources.jobs.jobStats();
  // Storage down or slow: the rest of the figures still help.
  const read = async <T>(p: Promise<T> | undefined): Promise<T | undefined> => {
    try {
      const got = p === undefined ? undefined : await within(p, SPEND_READ_TIMEOUT_MS);
      return got === 'timeout' ? undefined : got;
    } catch {
      return undefined;
    }
  };
  const [spend, money, account] = await Promise.all([read(sources.spend.spendToday()), read(sources.money?.(now)), read(sources.account?.read())]);
  const limits = sources.jobs.lumaLimits();
  return { at: now, spend, steps, oldestQueuedAt, limits, failures: metrics.failuresLastHour(), gateway: sources.gateway(), ...where, money, account };
}

/** Discord's message content limit. */
const MAX_CONTENT = 2000;

/** The figures as a short Discord message (timestamps in the reader's time zone); `nameOf` names servers. */
export function renderOperatorStatus(s: OperatorStatus, nameOf: (guildId: string) => string | undefined = () => undefined): string {
  const lines = [`**Bot status** — this process (shard ${s.shard}, storage ${s.storage}), ${discordTime(s.at, 'f')}`];

  if (!s.spend) lines.push('**Spend today (UTC):** unknown — storage did not answer.');
  else if (s.spend.capUsd === undefined) lines.push(`**Spend today (UTC):** ${formatUsd(s.spend.usd)} (no cap set: SPEND_CAP_USD_PER_DAY)`);
  else {
    const pct = Math.round((s.spend.usd / s.spend.capUsd) * 100);
    const reached = s.spend.usd >= s.spend.capUsd ? ' — **cap reached: new requests are refused**' : '';
    lines.push(`**Spend today (UTC):** ${formatUsd(s.spend.usd)} of ${formatUsd(s.spend.capUsd)} cap (${pct} %)${reached}; resets ${discordTime(periodEnd('day', s.at))}`);
  }

  const n = (step: JobStep) => s.steps[step] ?? 0;
  const queued = n('queued');
  const oldest = queued > 0 && s.oldestQueuedAt !== undefined ? ` (oldest waiting ${duration(s.at - s.oldestQueuedAt)})` : '';
  lines.push(
    `**Queue:** ${queued} waiting${oldest} · ${n('submitting') + n('polling')} at Luma · ${n('downloading') + n('delivering')} being delivered` +
      (n('failing') > 0 ? ` · ${n('failing')} failing` : ''),
  );

  lines.push(renderLuma(s.limits.luma, s.at));
  lines.push(renderLimits(s.limits, s.account));
  if (s.account) {
    const a = s.account;
    lines.push(`**Luma account (every process on this Redis):** ${a.jobsAtLuma} jobs at Luma · Luma found down ${a.outages} times, ${a.probes} probes`);
  }

  // On Redis, the account's failures (every process's); else this process's.
  const f = s.account?.failures ?? s.failures;
  const whose = s.account ? ' (every process)' : '';
  lines.push(
    f.total === 0
      ? `**Failures in the last hour${whose}:** none`
      : `**Failures in the last hour${whose}:** ${f.total} — ${f.byCode.map(([code, count]) => `\`${code}\` ×${count}`).join(', ')}`,
  );
  lines.push(`**Discord gateway:** ${s.gateway.connected ? 'connected' : `down (${s.gateway.reason ?? 'unknown'})`}`);
  if (s.money) lines.push(...renderMoney(s.money, nameOf));
  // As many lines as fit in one message; the status log has the rest.
  let text = '';
  for (const line of lines) {
    if (text.length + line.length + 1 > MAX_CONTENT) break;
    text += (text === '' ? '' : '\n') + line;
  }
  return text;
}

/** The same figures as fields for one structured log line. */
export function statusLogFields(s: OperatorStatus): Record<string, unknown> {
  return {
    spendUsd: s.spend?.usd,
    spendCapUsd: s.spend?.capUsd,
    queued: s.steps.queued ?? 0,
    atLuma: (s.steps.submitting ?? 0) + (s.steps.polling ?? 0),
    delivering: (s.steps.downloading ?? 0) + (s.steps.delivering ?? 0),
    oldestQueuedMs: s.oldestQueuedAt === undefined ? undefined : s.at - s.oldestQueuedAt,
    lumaConcurrency: s.limits.concurrency,
    lumaConcurrencyConfigured: s.limits.configuredConcurrency,
    lumaDown: s.limits.luma.state === 'open',
    lumaDownMs: s.limits.luma.since === undefined ? undefined : s.at - s.limits.luma.since,
    lumaRequestsPerMinute: s.limits.requestsPerMinute,
    lumaRequestsPerMinuteSource: s.limits.requestsPerMinuteSource,
    lumaBusyAtConcurrencyMs: s.limits.busyAtConcurrencyMs,
    lumaPostsLastMinute: s.limits.postsLastMinute,
    failuresLastHour: s.failures.total,
    failuresByCode: Object.fromEntries(s.failures.byCode),
    accountPostsLastMinute: s.account?.postsLastMinute,
    accountJobsAtLuma: s.account?.jobsAtLuma,
    accountFailuresLastHour: s.account?.failures.total,
    gatewayConnected: s.gateway.connected,
  };
}

/** Whether Luma answers, or is down and probed (the breaker). */
function renderLuma(b: BreakerStatus, at: number): string {
  if (b.state === 'closed' || b.since === undefined) return '**Luma:** answering';
  const next = b.nextProbeAt !== undefined && b.nextProbeAt > at ? `; next probe ${discordTime(b.nextProbeAt, 'R')}` : '';
  const where = b.shared ? ' (for every process on this Redis)' : '';
  return `**Luma:** ⚠️ down since ${discordTime(b.since, 't')} (${duration(at - b.since)}): jobs wait in the queue, one probe at a time${where}${next}`;
}

/** The limits in force, and where each came from. */
function renderLimits(l: LumaLimits, account: AccountFigures | undefined): string {
  let limits = `**Luma limits:** ${l.concurrency} jobs at once`;
  if (l.concurrency < l.configuredConcurrency) {
    limits += ` (lowered from ${l.configuredConcurrency} after Luma said "too many concurrent jobs"; it climbs back one at a time)`;
  } else if (l.busyAtConcurrencyMs >= CONCURRENCY_HEADROOM_MS) {
    limits += ` (LUMA_MAX_CONCURRENT_JOBS; Luma never refused a job at ${l.configuredConcurrency} at once in ${duration(l.busyAtConcurrencyMs)} busy at that limit: your plan may allow more, raise it to try)`;
  } else limits += ' (LUMA_MAX_CONCURRENT_JOBS)';
  // On Redis the window is the account's (every process's POSTs), not this process's view of it.
  limits += ` · ${account?.postsLastMinute ?? l.postsLastMinute} of ${l.requestsPerMinute} requests in the last minute`;
  if (l.requestsPerMinuteSource === 'luma') limits += ` (reported by Luma; configured start ${l.configuredRequestsPerMinute})`;
  else if (l.requestsPerMinuteSource === 'ceiling') limits += ` (LUMA_RPM_CEILING${l.learnedRequestsPerMinute !== undefined ? `; Luma allows ${l.learnedRequestsPerMinute}` : ''})`;
  else limits += " (LUMA_MAX_REQUESTS_PER_MINUTE: Luma has not reported the account's limit yet)";
  if (l.pausedUntil !== undefined) limits += ` · submissions paused until ${discordTime(l.pausedUntil, 't')} (Luma's per-minute limit)`;
  return limits;
}

function duration(ms: number): string {
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${sec % 60} s`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

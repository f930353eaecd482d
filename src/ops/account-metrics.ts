// The Luma account's figures on Redis (src/jobs/account-figures.ts) as gauges: every process on one Redis reports
// the same account-wide numbers, beside its own counters. Read once per scrape, left out when Redis does not answer.
import { Gauge, type Registry } from 'prom-client';
import type { AccountFigures } from '../jobs/account-figures.js';
import { within } from './within.js';

/** A scrape must answer even when Redis hangs: the account's gauges are left out after this long. */
const ACCOUNT_READ_TIMEOUT_MS = 2000;

/** What the gauges read: the account's figures, or undefined without Redis. */
export type AccountSource = { read(): Promise<AccountFigures> } | undefined;

export function accountGauges(registry: Registry, source: () => AccountSource): void {
  let last: { at: number; result: Promise<AccountFigures | undefined> } | undefined;
  const read = (): Promise<AccountFigures | undefined> => {
    const now = Date.now();
    if (!last || now - last.at > 1000) last = { at: now, result: readOnce(source()) };
    return last.result;
  };
  const gauge = (name: string, help: string, pick: (a: AccountFigures) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const a = await read();
        if (a) this.set(pick(a));
      },
    });
  gauge('lumabot_account_luma_posts_last_minute', "POSTs to Luma in the account's last 60 s, every process's (Redis only).", (a) => a.postsLastMinute);
  gauge('lumabot_account_luma_jobs_at_luma', 'Jobs at Luma now, every process’s (Redis only).', (a) => a.jobsAtLuma);
  gauge('lumabot_account_luma_outages', 'Times a process on this Redis found Luma down (Redis only).', (a) => a.outages);
  gauge('lumabot_account_luma_outage_probes', 'Probes sent while Luma was down, every process’s (Redis only).', (a) => a.probes);
  new Gauge({
    name: 'lumabot_account_job_failures_last_hour',
    help: 'Jobs that failed in the last hour, every process’s, by failure code (Redis only).',
    labelNames: ['code'],
    registers: [registry],
    async collect() {
      const a = await read();
      this.reset();
      if (!a) return;
      for (const [code, count] of a.failures.byCode) this.set({ code }, count);
    },
  });
}

async function readOnce(source: AccountSource): Promise<AccountFigures | undefined> {
  if (!source) return undefined;
  try {
    const got = await within(source.read(), ACCOUNT_READ_TIMEOUT_MS);
    return got === 'timeout' ? undefined : got;
  } catch {
    return undefined;
  }
}

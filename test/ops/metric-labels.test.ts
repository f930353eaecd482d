// The `code` label of the failure and refusal counters comes from an allow-list: a code from outside (Luma's
// failure_code) cannot make a new time series each, and every code the bot itself gives is on the list.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILURE_LABELS, REFUSAL_LABELS } from '../../src/ops/metric-labels.js';
import { BotMetrics } from '../../src/ops/metrics.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { samples } from './metrics-text.js';

const job = {} as JobRecord;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('metrics code labels', () => {
  it('count a code that is not on the list as other, for failures and refusals alike', async () => {
    const metrics = new BotMetrics();
    metrics.failed(job, 'generation_failed');
    for (let i = 0; i < 3; i++) metrics.failed(job, `luma_new_code_${i}`);
    metrics.quotaRefused('quota_server_share');
    metrics.quotaRefused('quota_server_ceiling');
    metrics.quotaRefused('quota_something_new');
    const text = (await metrics.render()).body;
    const failures = samples(text, 'lumabot_job_failures_total').map(([l, v]) => [l.code, v]);
    expect(failures).toEqual(expect.arrayContaining([['generation_failed', 1], ['other', 3]]));
    expect(failures).toHaveLength(2);
    const refusals = samples(text, 'lumabot_quota_refusals_total').map(([l, v]) => [l.code, v]);
    expect(refusals).toEqual(expect.arrayContaining([['quota_server_share', 1], ['quota_server_ceiling', 1], ['other', 1]]));
    expect(refusals).toHaveLength(3);
    expect(metrics.failuresLastHour().byCode).toEqual([['other', 3], ['generation_failed', 1]]);
  });

  it('list every failure code the job steps give and every quota refusal code', () => {
    const jobs = sources('src/jobs').map((f) => readFileSync(f, 'utf8')).join('\n');
    const failureCodes = [...jobs.matchAll(/\bfail\('([a-z0-9_]+)'/g)].map((m) => m[1]);
    expect(failureCodes.length).toBeGreaterThan(10);
    for (const code of failureCodes) expect(FAILURE_LABELS.has(code ?? ''), code).toBe(true);
    const quota = sources('src/quota').map((f) => readFileSync(f, 'utf8')).join('\n');
    const refusalCodes = [...quota.matchAll(/'(quota_[a-z_]+)'/g)].map((m) => m[1]);
    expect(new Set(refusalCodes)).toEqual(new Set(REFUSAL_LABELS));
  });
});

// /metrics: the Prometheus text the bot serves, with counters for delivered and failed jobs, Luma and Discord
// errors and quota refusals, and the limits, spend and process figures.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction } from '../../dev/fakes/discord/server.js';
import { opt, startHarness, type Harness } from '../helpers/harness.js';
import { samples, total } from './metrics-text.js';
import { messageText } from '../helpers/message-text.js';

describe('/metrics', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${h?.bot.healthServer?.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const imagine = (userId: string, prompt: string) =>
    h!.discord.slashCommand({ name: 'imagine', user: { id: userId, username: `u${userId.slice(-3)}` }, options: [opt.string('prompt', prompt)] });
  const finished = (i: DispatchedInteraction, what: string) =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && (m.attachments.length > 0 || messageText(m).includes('could not be made')) ? m : undefined;
    }, 20_000, what);

  it('counts a delivered job, a failed one, Luma and Discord errors, a quota refusal, and shows limits, spend and the process', async () => {
    h = await startHarness({ env: { HTTP_PORT: '0', QUOTA_DEFAULT_LIMIT: '1', SPEND_CAP_USD_PER_DAY: '5', LUMA_MAX_CONCURRENT_JOBS: '7', LUMA_MAX_REQUESTS_PER_MINUTE: '40' } });
    const before = await scrape();
    expect(total(before, 'lumabot_jobs_queued_total')).toBe(0);
    expect(total(before, 'lumabot_luma_concurrency_limit')).toBe(7);
    expect(total(before, 'lumabot_luma_requests_per_minute_limit')).toBe(40);
    expect(total(before, 'lumabot_luma_requests_per_minute_configured')).toBe(40);
    expect(total(before, 'lumabot_luma_requests_per_minute_reported')).toBe(0);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'requests_per_minute', source: 'configured' })).toBe(1);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'requests_per_minute', source: 'luma' })).toBe(0);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'concurrency', source: 'configured' })).toBe(1);
    expect(total(before, 'lumabot_luma_down')).toBe(0);
    expect(total(before, 'lumabot_luma_outages_total')).toBe(0);
    expect(total(before, 'lumabot_spend_cap_usd')).toBe(5);
    expect(total(before, 'lumabot_spend_usd_today')).toBe(0);
    expect(total(before, 'lumabot_gateway_connected')).toBe(1);

    // One job made and delivered; Discord refuses one progress edit on the way (a 400 the bot shrugs off).
    h.discord.fault({ method: 'PATCH', path: /^\/webhooks\// }, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    await finished(await imagine('700000000000000001', 'metrics: a delivered job'), 'the first result');
    // One job Luma fails, for another member.
    h.luma.planNext({ failWith: 'generation_failed' });
    await finished(await imagine('700000000000000002', 'metrics: a failed job'), 'the failure');
    // One Luma HTTP error on submit, for a third member.
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 401, body: { detail: 'scripted 401' } });
    await finished(await imagine('700000000000000003', 'metrics: a 401'), 'the 401 failure');
    // The first member is at their limit of 1: refused before Luma.
    const refused = await imagine('700000000000000001', 'metrics: over quota');
    await h.discord.waitFor(() => h!.logs.find((l) => l.msg === 'refused' && l.code === 'quota_exceeded' && l.interactionId === refused.id), 10_000, 'the refusal');

    const text = await scrape();
    expect(total(text, 'lumabot_jobs_queued_total', { kind: 'imagine' })).toBe(3);
    expect(total(text, 'lumabot_queue_wait_seconds_count')).toBe(2);
    expect(total(text, 'lumabot_generation_duration_seconds_count', { model: 'uni-1' })).toBe(1);
    expect(total(text, 'lumabot_generation_duration_seconds_sum')).toBeGreaterThan(0);
    expect(total(text, 'lumabot_delivery_duration_seconds_count')).toBe(1);
    expect(total(text, 'lumabot_job_failures_total', { code: 'generation_failed' })).toBe(1);
    expect(total(text, 'lumabot_job_failures_total', { code: 'http_401' })).toBe(1);
    expect(total(text, 'lumabot_job_failures_total')).toBe(2);
    expect(total(text, 'lumabot_luma_errors_total', { method: 'POST', status: '401' })).toBe(1);
    expect(total(text, 'lumabot_discord_errors_total', { status: '400', auth: 'interaction' })).toBe(1);
    expect(total(text, 'lumabot_quota_refusals_total', { code: 'quota_exceeded' })).toBe(1);
    // The delivered job is billed (uni-1, $0.0404); the failures were refunded.
    expect(total(text, 'lumabot_spend_usd_today')).toBeCloseTo(0.0404, 4);
    expect(total(text, 'lumabot_queue_length')).toBe(0);
    expect(samples(text, 'lumabot_jobs').map(([l]) => l.step).sort()).toEqual(['delivering', 'downloading', 'failing', 'polling', 'queued', 'submitting']);
    // prom-client's process metrics and the event loop's delay.
    expect(samples(text, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect(samples(text, 'process_resident_memory_bytes')).toHaveLength(1);
    // Never a secret: the interaction webhook paths carry tokens.
    expect(text).not.toContain(h.discord.token);
    expect(text).not.toMatch(/webhooks\//);

    // The sample Grafana dashboard only charts metrics the bot exposes.
    const dashboard = readFileSync(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8');
    const charted = new Set([...dashboard.matchAll(/\b((?:lumabot|nodejs|process)_\w+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1] ?? ''));
    expect(charted.size).toBeGreaterThan(15);
    for (const name of charted) expect(text, `the dashboard charts ${name}`).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});

// The bench's outage mode (`npm run bench -- --outage`): Luma answers 502 to every POST and GET for a while as the
// jobs arrive, then recovers. What it measures: the requests the bot sent Luma during the outage (one probe at a
// time, not a stampede), the time from recovery to the last delivery, and the drain's pace against the limit the
// fake advertises in X-RateLimit-Limit (the bot is left at the default LUMA_MAX_REQUESTS_PER_MINUTE of 30).
import type { FakeLuma } from '../../dev/fakes/luma/api.js';

/** The plan the fake enforces and advertises in outage mode unless --plan says otherwise. */
export const OUTAGE_PLAN = { rpm: 120, concurrent: 100 };
/** The bot's configuration in outage mode: the defaults an operator who set nothing has. */
export const DEFAULT_RPM = 30;

export interface Outage {
  startedAt: number;
  /** When Luma came back (undefined while it is still down). */
  endedAt: number | undefined;
  /** Ends it early (the bench's time ran out). */
  stop(): void;
}

/** Takes the fake Luma down now (502 to every POST and GET), and back up after `ms`. */
export function startOutage(luma: FakeLuma, ms: number): Outage {
  luma.setOutage(502);
  const outage: Outage = {
    startedAt: Date.now(),
    endedAt: undefined,
    stop: () => {
      clearTimeout(timer);
      if (outage.endedAt !== undefined) return;
      luma.setOutage(undefined);
      outage.endedAt = Date.now();
    },
  };
  const timer = setTimeout(outage.stop, ms);
  return outage;
}

export interface OutageFigures {
  outageMs: number;
  /** Requests to Luma's API during the outage, by method. */
  duringOutage: { posts: number; gets: number };
  /** When each of them was sent, s from the outage's start (the first ones: what went before the bot knew). */
  sentAtS: number[];
  /** From Luma's recovery to the bot's first request it answered, ms. */
  recoveryToFirstAnswerMs: number | null;
  /** From Luma's recovery to the last delivery, ms. */
  recoveryToLastDeliveryMs: number | null;
  /** POSTs Luma accepted in each minute from the first one after recovery. */
  acceptedPerMinute: number[];
  advertisedRpm: number;
}

/** The outage's figures from what the fake saw, and when the last result was delivered (epoch ms). */
export function outageFigures(luma: FakeLuma, outage: Outage, lastDeliveryAt: number | undefined, advertisedRpm: number): OutageFigures {
  const end = outage.endedAt ?? Date.now();
  const api = luma.requests.filter((r) => r.path.startsWith('/v1/'));
  const during = api.filter((r) => r.at >= outage.startedAt && r.at < end);
  const times = during.map((r) => r.at).sort((a, b) => a - b);
  const answered = api.find((r) => r.at >= end && r.status !== undefined && r.status < 500);
  const accepted = api.filter((r) => r.method === 'POST' && r.status === 201 && r.at >= end).map((r) => r.at);
  const first = accepted[0];
  const perMinute: number[] = [];
  if (first !== undefined) for (const at of accepted) perMinute[Math.floor((at - first) / 60_000)] = (perMinute[Math.floor((at - first) / 60_000)] ?? 0) + 1;
  return {
    outageMs: end - outage.startedAt,
    duringOutage: { posts: during.filter((r) => r.method === 'POST').length, gets: during.filter((r) => r.method === 'GET').length },
    sentAtS: times.map((t) => Math.round((t - outage.startedAt) / 100) / 10),
    recoveryToFirstAnswerMs: answered ? answered.at - end : null,
    recoveryToLastDeliveryMs: lastDeliveryAt !== undefined && lastDeliveryAt >= end ? lastDeliveryAt - end : null,
    acceptedPerMinute: Array.from(perMinute, (n) => n ?? 0),
    advertisedRpm,
  };
}

/** The figures as the bench's table lines. */
export function outageLines(f: OutageFigures): string[] {
  const sec = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
  return [
    `  Luma outage          ${sec(f.outageMs)}: ${f.duringOutage.posts} POSTs and ${f.duringOutage.gets} GETs sent meanwhile, at ${f.sentAtS.map((s) => `${s.toFixed(1)}`).join(' · ') || '—'} s`,
    `  after recovery       first answer ${sec(f.recoveryToFirstAnswerMs)} · last delivery ${sec(f.recoveryToLastDeliveryMs)} after Luma came back`,
    `  drain                POSTs accepted per minute ${f.acceptedPerMinute.join(' · ') || '—'} (Luma advertises ${f.advertisedRpm}; the bot is configured at ${DEFAULT_RPM})`,
  ];
}

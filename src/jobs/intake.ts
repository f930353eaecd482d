import { systemClock, type Clock } from '../clock.js';
import { UserFacingError } from '../errors.js';
import type { Place } from '../guild-settings/model.js';
import { t } from '../i18n/index.js';
import type { Logger } from '../logger.js';
import type { Requester } from '../quota/types.js';
import { StorageError, type StorageAlarm } from '../storage/index.js';
import { newJob, type JobSpec } from './create.js';
import type { MemberHistory } from './history.js';
import type { JobCharges } from './steps/context.js';
import type { JobRecord, JobRequester, ReplyRoute } from './types.js';

/** A request for an image, in the core's words: what, who and where, and how to answer. */
export interface IntakeRequest {
  spec: JobSpec;
  requester: JobRequester;
  /** The member's roles where they asked (role limits). */
  roleIds: readonly string[];
  /** Where it was asked, for the server's rules (allowed channels, age-restricted ones). */
  place: Place;
  replyTo: ReplyRoute;
  /** What the store says the member (and the server) hold, from their interaction (premium tiers, credit packs). */
  purchases?: Requester['purchases'];
  /**
   * Checks that cost downloads (animated GIFs), run once the quota said yes: nothing is fetched for a member who may
   * not make the image anyway. A refusal from it gives the unit back.
   */
  precheck?: () => Promise<void>;
}

export interface IntakeDeps {
  /** The server's rules (guild-settings/rules.ts). */
  rules: { check(guildId: string | null, place: Place, prompt: string, locale: string | undefined): Promise<void> };
  /** Reserves the request's units on `job.quota`, or refuses with a UserFacingError (quota/service.ts). */
  quota: { reserve(job: JobRecord, requester: Requester): Promise<void> };
  /** Gives units back (charges.ts: retried in the background while storage refuses). */
  charges: Pick<JobCharges, 'refund'>;
  /** Stores and queues the job (the engine). */
  queue: { enqueue(job: JobRecord): Promise<void> };
  history: Pick<MemberHistory, 'add'>;
  /** Tells the operator that storage is failing. */
  alarm: Pick<StorageAlarm, 'raise'>;
  logger: Logger;
  clock?: Clock;
}

/**
 * Where a job is accepted: the server's rules → the quota's reservation → the checks that cost downloads → stored
 * and queued → the member's history. A refusal charges nothing: a step after the reservation that fails gives the
 * unit back. When storage fails the member is told to try again shortly ("storage is unavailable"), with nothing
 * charged, and the operator is told once per outage.
 */
export class Intake {
  private readonly clock: Clock;

  constructor(private readonly deps: IntakeDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** The job, stored and queued; throws a UserFacingError the member is shown when it was refused. */
  async accept(req: IntakeRequest): Promise<JobRecord> {
    const { spec, requester } = req;
    const locale = requester.locale;
    try {
      await this.deps.rules.check(requester.guildId, req.place, spec.request.prompt, locale);
    } catch (err) {
      throw this.refusal(err, { userId: requester.userId }, locale);
    }
    const job = newJob(spec, requester, req.replyTo, this.clock.now());
    try {
      const who = { userId: requester.userId, guildId: requester.guildId, roleIds: req.roleIds, userInstalled: requester.userInstalled };
      await this.deps.quota.reserve(job, { ...who, ...(locale !== undefined ? { locale } : {}), ...(req.purchases ? { purchases: req.purchases } : {}) });
    } catch (err) {
      throw this.refusal(err, ids(job), locale);
    }
    if (req.precheck) {
      try {
        await req.precheck();
      } catch (err) {
        await this.giveBack(job, 'input_refused');
        throw err;
      }
    }
    try {
      await this.deps.queue.enqueue(job);
    } catch (err) {
      await this.giveBack(job, 'enqueue_failed');
      throw this.refusal(err, ids(job), locale);
    }
    await this.deps.history.add(job).catch((err: unknown) => this.deps.logger.warn({ err, jobId: job.id }, 'could not add the job to the member’s history'));
    return job;
  }

  /** A storage failure becomes "try again shortly" (nothing was charged); any other error stays what it is. */
  private refusal(err: unknown, who: Record<string, string>, locale: string | undefined): unknown {
    if (!(err instanceof StorageError)) return err;
    this.deps.alarm.raise(err, who);
    this.deps.logger.warn({ err, ...who }, 'storage failed: command refused, nothing charged');
    return new UserFacingError(t(locale, 'refuse.storage'), { code: 'storage_unavailable' });
  }

  private async giveBack(job: JobRecord, reason: string): Promise<void> {
    await this.deps.charges.refund(job, reason, { units: true });
  }
}

const ids = (job: JobRecord): Record<string, string> => ({ jobId: job.id, userId: job.requester.userId });

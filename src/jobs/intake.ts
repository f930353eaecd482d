import { systemClock, type Clock } from '../clock.js';
import { storageRefusal, UserFacingError } from '../errors.js';
import type { Place } from '../guild-settings/model.js';
import { t } from '../i18n/index.js';
import type { Logger } from '../logger.js';
import type { Requester } from '../quota/types.js';
import { LostRecordError, StorageError, type StorageAlarm } from '../storage/index.js';
import type { Model } from '../luma/types.js';
import { MAX_IMAGES_PER_REQUEST, newJobs, type JobSpec } from './create.js';
import type { MemberHistory } from './history.js';
import { renewImageLinks, type ImageLinks } from './image-links.js';
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
  /** How many images (1–4, default 1): each its own job and Luma generation, their units reserved together. */
  count?: number;
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
  /**
   * What the server lets its members ask for where its own quota pays (uni-1-max, several images at once):
   * src/preferences/limits.ts. Optional: without it, anything may be asked.
   */
  limits?: { check(guildId: string | null, ask: { model: Model; count: number; userInstalled: boolean }, locale: string | undefined): Promise<void> };
  /** Reserves the units of all the request's jobs at once (each on its `job.quota`), or refuses with a UserFacingError (quota/service.ts). */
  quota: { reserveAll(jobs: readonly JobRecord[], requester: Requester): Promise<void> };
  /** Gives units back (charges.ts: retried in the background while storage refuses). */
  charges: Pick<JobCharges, 'refund'>;
  /** Stores and queues the request's jobs, all or none (the engine). */
  queue: { enqueue(jobs: readonly JobRecord[]): Promise<void> };
  history: Pick<MemberHistory, 'add'>;
  /** Renews the links of member images a request made again still uses (they expire): src/discord/image-links.ts. */
  links?: ImageLinks;
  /** Tells the operator that storage is failing. */
  alarm: Pick<StorageAlarm, 'raise'>;
  logger: Logger;
  clock?: Clock;
}

/**
 * Where a job is accepted: the server's rules (and, for a request made again, fresh links to its images) → the quota's reservation → the checks that cost downloads → stored
 * and queued → the member's history. A refusal charges nothing: a step after the reservation that fails gives the
 * unit back. When storage fails the member is told to try again shortly ("storage is unavailable"), with nothing
 * charged, and the operator is told once per outage.
 */
export class Intake {
  private readonly clock: Clock;

  constructor(private readonly deps: IntakeDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /**
   * The request's jobs (one per image asked for), stored and queued; throws a UserFacingError the member is shown
   * when it was refused. Several images are reserved in one go: all of them, or a refusal saying how many units are
   * left — never some.
   */
  async accept(req: IntakeRequest): Promise<JobRecord[]> {
    const { requester } = req;
    let { spec } = req;
    const locale = requester.locale;
    const count = Math.min(MAX_IMAGES_PER_REQUEST, Math.max(1, Math.floor(req.count ?? 1)));
    try {
      await this.deps.rules.check(requester.guildId, req.place, spec.request.prompt, locale);
      await this.deps.limits?.check(requester.guildId, { model: spec.request.model ?? 'uni-1', count, userInstalled: requester.userInstalled }, locale);
      // A request made again from an earlier one: its member images' links may have expired since (about a day).
      if (spec.parentJobId !== undefined && this.deps.links) spec = await renewImageLinks(spec, this.deps.links, locale);
    } catch (err) {
      throw this.refusal(err, { userId: requester.userId }, locale);
    }
    const jobs = newJobs(spec, count, requester, req.replyTo, this.clock.now());
    const first = jobs[0] as JobRecord;
    try {
      const who = { userId: requester.userId, guildId: requester.guildId, roleIds: req.roleIds, userInstalled: requester.userInstalled };
      await this.deps.quota.reserveAll(jobs, { ...who, ...(locale !== undefined ? { locale } : {}), ...(req.purchases ? { purchases: req.purchases } : {}) });
    } catch (err) {
      throw this.refusal(err, ids(first), locale);
    }
    if (req.precheck) {
      try {
        await req.precheck();
      } catch (err) {
        await this.giveBack(jobs, 'input_refused');
        throw err;
      }
    }
    try {
      await this.deps.queue.enqueue(jobs);
    } catch (err) {
      await this.giveBack(jobs, 'enqueue_failed');
      throw this.refusal(err, ids(first), locale);
    }
    // The request is one entry of the member's history, by its first image.
    await this.deps.history.add(first).catch((err: unknown) => this.deps.logger.warn({ err, jobId: first.id }, 'could not add the job to the member’s history'));
    return jobs;
  }

  /**
   * A storage failure becomes "try again shortly", a record that could not be read "the server's settings could not
   * be read" (nothing was charged either way); any other error stays what it is.
   */
  private refusal(err: unknown, who: Record<string, string>, locale: string | undefined): unknown {
    if (err instanceof LostRecordError) {
      this.deps.logger.warn({ record: err.record, key: err.key, ...who }, 'a stored record could not be read: command refused, nothing charged');
      return storageRefusal(err, locale);
    }
    if (!(err instanceof StorageError)) return err;
    this.deps.alarm.raise(err, who);
    this.deps.logger.warn({ err, ...who }, 'storage failed: command refused, nothing charged');
    return new UserFacingError(t(locale, 'refuse.storage'), { code: 'storage_unavailable' });
  }

  private async giveBack(jobs: readonly JobRecord[], reason: string): Promise<void> {
    for (const job of jobs) await this.deps.charges.refund(job, reason, { units: true });
  }
}

const ids = (job: JobRecord): Record<string, string> => ({ jobId: job.id, userId: job.requester.userId });

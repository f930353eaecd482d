import type { ResultLayout } from './transfer-budget.js';
import type { JobRecord, JobRequester, ReplyRoute } from './types.js';

/**
 * Where a job stands, as the member's progress line shows it. The delivery side renders it (in the member's
 * language, with the prompt) and skips an edit that would show the same text.
 */
export type ProgressState =
  /** Waiting in the bot's queue; `position` is the 1-based place when known. */
  | { stage: 'waiting'; position?: number }
  /** Being sent to Luma now. */
  | { stage: 'sending' }
  /** Luma is down or unreachable: the job is kept and sent when it answers again. */
  | { stage: 'lumaDown' }
  /** Luma asked to wait (a 429): the job keeps its place (`position`, when known) and goes by itself. */
  | { stage: 'lumaBusy'; position?: number }
  /** At Luma, waiting in Luma's own queue since `since` (ms). */
  | { stage: 'atLuma'; since: number }
  /** Luma is making the image since `since`; `estimateMs`: how long recent jobs took. */
  | { stage: 'generating'; since: number; estimateMs?: number }
  /** At Luma, but Luma stopped answering its polls for now. */
  | { stage: 'lumaSilent' }
  /** Made: being fetched and sent. */
  | { stage: 'finishing' };

export type ProgressOutcome =
  /** The reply shows it now. */
  | 'shown'
  /** It already showed this: nothing was sent. */
  | 'unchanged'
  /** The reply cannot be updated any more: no more progress, and the result goes by another route. */
  | 'closed'
  /** Not shown this time (the next one may be). */
  | 'failed';

/** The result image as Luma made it (the delivery side fits it to what its route accepts). */
export interface ResultImage {
  bytes: Buffer;
  contentType: string;
}

/** Where a message reached the member: the route (the delivery side's word for it) and the message. */
export interface Delivered {
  via: string;
  messageId?: string;
  channelId?: string;
  /** The image was re-encoded or scaled down to fit the route (the member is told). */
  compressed?: boolean;
}

export type DeliveryOutcome = ({ outcome: 'delivered' } & Delivered) | { outcome: 'unreachable' };

/**
 * The images of one request for several (jobs with a group): where each stands, for the one answer that shows them
 * all. Read under the group's lock, so two images of a request are never delivered at once.
 */
export interface GroupView {
  /** Every image of the request in order: the job being delivered as it is now, the others as last stored (undefined when unreadable). */
  readonly jobs: ReadonlyArray<JobRecord | undefined>;
}

/** Whom a kept result is handed over to: the member as they are now (where, in which language), and how to answer. */
export interface HandOverTo {
  requester: JobRequester;
  route: ReplyRoute;
}

/**
 * How progress, results and failures reach the member. The engine owns every job state change and decides when
 * something is said; a Deliverer says it (rendering, sizing and the platform's formats are its business) and
 * tells which route worked. Implemented on the Discord side (src/discord/deliverer.ts).
 */
export interface Deliverer {
  /** How results are best laid out in memory for this delivery (room for its framing); default: the bytes alone. */
  readonly resultLayout?: ResultLayout;
  /** Whether the job's live reply can still be updated now (a reply lives a limited time). */
  canShowProgress(job: JobRecord, now: number): boolean;
  /** Shows where the job stands in its live reply, unless that would change nothing. */
  progress(job: JobRecord, state: ProgressState, now: number): Promise<ProgressOutcome>;
  /**
   * Called just before the record is saved at `delivering` and the result sent: the delivery side notes on the
   * route what a process resuming the job must know (see findDelivered).
   */
  beforeResult(job: JobRecord, now: number): void;
  /** Sends the result by the best route still open; for an image of several, shown with the others (`group`). */
  result(job: JobRecord, image: ResultImage, group?: GroupView): Promise<DeliveryOutcome>;
  /** Tells the member about `job.failure` by the best route still open; for an image of several, beside the others. */
  failure(job: JobRecord, group?: GroupView): Promise<DeliveryOutcome>;
  /** After a restart or a takeover: the result a previous attempt sent, if it landed. */
  findDelivered(job: JobRecord): Promise<Delivered | undefined>;
  /** Sends a kept result to the member through their current request (`to`); throws when it could not. */
  handOver(job: JobRecord, image: ResultImage, to: HandOverTo): Promise<Delivered>;
  /**
   * The record is about to be stored: the route drops what must not be kept (a secret that expired, or one no
   * longer needed once the job `ended`).
   */
  scrub(job: JobRecord, now: number, ended: boolean): void;
}

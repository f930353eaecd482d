import type { JobRecord } from './types.js';

/** Interaction tokens live 15 minutes; stop using one a little before that so an upload does not race the end. */
const TOKEN_MARGIN_MS = 45_000;

/** Whether the job's interaction token is still good for a reply edit (with a margin, so an upload does not race its end). */
export function tokenUsable(job: Pick<JobRecord, 'discord'>, now: number): boolean {
  return now < job.discord.tokenExpiresAt - TOKEN_MARGIN_MS;
}

/** What the member's progress line is made of, besides the job itself. */
export interface ProgressInfo {
  now: number;
  /** 1-based place in the bot's own queue, when the job is waiting there. */
  queuePosition?: number;
  /** Typical processing time from recent jobs, ms. */
  estimateMs?: number;
}

/** The result image as it is to be sent: already fitted to the job's upload limit where that was possible. */
export interface ResultImage {
  data: Buffer;
  contentType: string;
  /** Re-encoded or scaled down to fit the limit (the member is told). */
  compressed: boolean;
}

/** Where a message reached the member. */
export interface Delivered {
  via: 'original' | 'channel' | 'dm';
  messageId?: string;
  channelId?: string;
}

export type ProgressOutcome =
  /** Shown in the interaction's reply, which is this message. */
  | { outcome: 'shown'; messageId: string }
  /** The interaction token no longer works: no more progress edits, and the result goes by another route. */
  | { outcome: 'token-expired' }
  /** Not shown this time (the next edit may work). */
  | { outcome: 'failed' };

export type DeliveryOutcome = ({ outcome: 'delivered' } & Delivered) | { outcome: 'unreachable' };

/** Who a kept result is handed over to: the member's current interaction, already acknowledged. */
export interface HandOverTarget {
  userId: string;
  applicationId: string;
  /** Interaction token of the current interaction (secret: never logged). */
  interactionToken: string;
  channelId: string | null;
  /** The member's and the server's language, for the words around the image. */
  locale: string;
  guildLocale: string | null;
  /** Largest attachment this interaction accepts, bytes. */
  attachmentSizeLimit: number;
}

/**
 * How results, failures and progress reach the member. The engine owns every job state change and decides when
 * something is said; a Deliverer only says it, and tells which route worked. Implemented on the Discord side.
 */
export interface Deliverer {
  /** The progress line the member would see now: compared with the last one shown, an edit that changes nothing is skipped. */
  progressText(job: JobRecord, info: ProgressInfo): string;
  /** Shows a progress line in the interaction's reply. */
  progress(job: JobRecord, text: string): Promise<ProgressOutcome>;
  /**
   * Sends the result by the best route still open. `shrink` re-fits the image under a smaller byte limit when the
   * platform refuses the upload as too large.
   */
  result(job: JobRecord, image: ResultImage, shrink: (maxBytes: number) => Promise<ResultImage>): Promise<DeliveryOutcome>;
  /** Tells the member about `job.failure` by the best route still open. */
  failure(job: JobRecord): Promise<DeliveryOutcome>;
  /** After a restart: the result the previous process uploaded to the reply, if it landed there. */
  findDelivered(job: JobRecord): Promise<Delivered | undefined>;
  /** Sends a kept result to the member through their current interaction; throws when it could not. */
  handOver(job: JobRecord, image: ResultImage, to: HandOverTarget): Promise<Delivered>;
}

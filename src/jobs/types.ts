import type { AspectRatio, GenerationRequest, ImageInput, InputMediaType, Model, OutputFormat, Style } from '../luma/types.js';
import type { QuotaReservation } from '../quota/types.js';

export type JobKind = 'imagine' | 'edit';

/**
 * A job moves through explicit steps, and the record is written to storage before and after each one, so a
 * restarted process picks every unfinished job up where it was:
 *   queued → submitting → polling → downloading → delivering → done
 * and `failing` → `failed` from anywhere: `failing` records the decision (and whether the unit goes back) before
 * the refund and the member's notice, so a crash between them cannot skip either. `undelivered` means the image
 * exists but no route reached the member yet; it is handed over the next time they use the bot.
 */
export type JobStep =
  | 'queued'
  | 'submitting'
  | 'polling'
  | 'downloading'
  | 'delivering'
  | 'failing'
  | 'done'
  | 'failed'
  | 'undelivered';

export const ACTIVE_STEPS: readonly JobStep[] = ['queued', 'submitting', 'polling', 'downloading', 'delivering', 'failing'];

/** An image the member gave us, kept so a URL input can be re-sent as base64 when Luma cannot fetch it. */
export interface JobInput {
  role: 'source' | 'ref';
  /**
   * What is sent to Luma: a URL or a generation id, never bytes. When Luma cannot fetch a URL, the base64 is built
   * in memory for each POST from `discordUrl` and never stored (a record holding member images grew to many MB).
   */
  input: ImageInput;
  /** Where the bytes can be fetched from again (a Discord CDN URL), if it is a Discord image. */
  discordUrl?: string;
  filename: string;
  contentType?: InputMediaType;
  size?: number;
}

/** A choice a request took from someone's defaults rather than from what the member typed (see src/preferences). */
export type DefaultedChoice = 'model' | 'aspectRatio' | 'style' | 'outputFormat' | 'count' | 'webSearch' | 'visibility';

export interface JobDisplay {
  prompt: string;
  model: Model;
  aspectRatio: AspectRatio | null;
  style: Style;
  outputFormat: OutputFormat | null;
  webSearch: boolean;
  references: number;
  /** For edits: where the source came from (a message link), shown under the result. */
  sourceLink?: string;
  /** What an edit of one of the bot's results was: a variation (same prompt), or the image re-made with uni-1-max. */
  action?: 'vary' | 'enhance';
  /** Choices that came from the member's own /settings, and from the server's defaults, as the result line names them. */
  fromSettings?: { member: DefaultedChoice[]; server: DefaultedChoice[] };
}

/**
 * One image of a request for several (`count` 1–4). Luma makes one image per request, so each image is its own job
 * and generation, through the same fair queue and with its own charge; the group shows them as one answer.
 */
export interface JobGroup {
  /** The request's id, shared by its images. */
  id: string;
  /** This image's place in the request, 0-based. */
  index: number;
  /** The job of every image of the request, in order. */
  jobIds: string[];
}

/**
 * Who asked for a job, and where: the member, their server (null in DMs and group DMs), the channel, whether it is
 * their own install of the bot in a server that did not add it (then their personal quota applies), and the
 * languages of what answers them and of what the place reads.
 */
export interface JobRequester {
  userId: string;
  guildId: string | null;
  channelId: string | null;
  /** Used in a server through the member's own install of the bot (not the server's): their personal quota applies. */
  userInstalled: boolean;
  /** The member's language: their own replies. Absent in records from before it. */
  locale?: string;
  /** The place's language (the server's): what everyone there reads. Null outside servers. */
  placeLocale?: string | null;
}

/**
 * How answers reach the member: owned by the delivery side (src/discord), opaque to the core, which stores it with
 * the job and hands it back. The delivery side may change it (what it learnt about the reply) before a save.
 */
export type ReplyRoute = Readonly<Record<string, unknown>>;

export interface JobFailure {
  /** Luma failure_code, an HTTP class (`http_401`), or one of ours (`delivery_failed`, `internal`). */
  code: string;
  /** What the member is told, in English (logs; what a record from before the catalogue shows). */
  userMessage: string;
  /** Catalogue key of the message, rendered in the reader's language where it is shown (src/jobs/failures.ts failureText). */
  key?: string;
  /** The message's raw placeholders. */
  vars?: Record<string, string | number>;
  /** Reference id printed in the logs for failures that are our fault. */
  ref?: string;
  /** Whether the member may retry (a Retry button is offered). */
  retryable: boolean;
  /** Set by the engine while `failing`: whether the quota unit goes back. */
  refund?: boolean;
  /** Key of the failure notice, fixed per failure, so a notice repeated after a crash is posted once. */
  nonce?: string;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  step: JobStep;
  createdAt: number;
  updatedAt: number;
  /** The body POSTed to Luma (with user_id = the member's Discord id). */
  request: GenerationRequest;
  inputs: JobInput[];
  display: JobDisplay;
  requester: JobRequester;
  /** Where the member's answers go (delivery-owned; see ReplyRoute). */
  replyTo: ReplyRoute;
  /** The job this one was made from (reroll, edit of a result). */
  parentJobId?: string;
  /** Set when the request asked for several images: which one this is (see JobGroup). */
  group?: JobGroup;
  generationId?: string;
  /** Number of POSTs made for this job (more than one only after a certain non-arrival or a restart mid-POST). */
  submitAttempts: number;
  /** Set once Luma could not fetch the URL inputs: each POST then sends them as base64, fetched again from Discord. */
  inlinedInputs?: boolean;
  /** When Luma was first found down (502, unreachable) in the outage this job is waiting out; cleared when it answers. */
  lumaUnavailableSince?: number;
  /** When the job may next be worked on (back-off after a 429, the next poll). */
  notBefore?: number;
  submittedAt?: number;
  processingAt?: number;
  completedAt?: number;
  lastLumaState?: 'queued' | 'processing' | 'completed' | 'failed';
  /** When the member's reply last showed progress, and the queue place it showed (a waiting job's text changes with it). */
  progress: { editedAt?: number; position?: number };
  /** Opaque to the engine: what the quota module reserved for this job. */
  quota?: QuotaReservation;
  /** Where the result reached the member (the delivery side's words for the route, and the message). */
  delivery?: {
    via: string;
    messageId?: string;
    channelId?: string;
    compressed?: boolean;
    at: number;
  };
  /** Key of the result's post, fixed per job, so a post repeated after a crash lands once. */
  nonce: string;
  failure?: JobFailure;
}

import type { AspectRatio, GenerationRequest, ImageInput, InputMediaType, Model, OutputFormat, Style } from '../luma/types.js';
import type { QuotaReservation } from '../quota/types.js';

export type JobKind = 'imagine' | 'edit';

/**
 * A job moves through explicit steps, and the record is written to storage before and after each one, so a
 * restarted process picks every unfinished job up where it was:
 *   queued → submitting → polling → downloading → delivering → done
 * and `failing` → `failed` from anywhere: `failing` records the decision (and whether the unit goes back) before
 * the refund and the member's notice, so a crash between them cannot skip either. `undelivered` means the image
 * exists but no Discord route reached the member yet; it is handed over the next time they use the bot.
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
}

export interface JobDiscord {
  applicationId: string;
  /** Secret for 15 minutes: never logged (the logger redacts it), and emptied in the record once it expired or the job ended. */
  interactionToken: string;
  tokenExpiresAt: number;
  interactionId: string;
  userId: string;
  channelId: string | null;
  guildId: string | null;
  /** Used in a server through the member's own install of the bot (not the server's): it cannot post in the channel by itself. */
  userInstalled: boolean;
  /** Largest attachment Discord accepts in this interaction, bytes. */
  attachmentSizeLimit: number;
  /** The member's Discord language (`interaction.locale`): their own replies. Absent in records from before it. */
  locale?: string;
  /** The server's language (`interaction.guildLocale`): public posts and the result embed. Null outside servers. */
  guildLocale?: string | null;
  /** Id of the interaction's reply message, learnt from the first progress edit (to check it after the token died). */
  originalMessageId?: string;
}

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
  /** Discord nonce of the failure notice: fixed per failure, so a notice repeated after a crash is posted once. */
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
  discord: JobDiscord;
  /** The job this one was made from (reroll, edit of a result). */
  parentJobId?: string;
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
  progress: { text?: string; editedAt?: number };
  /** Opaque to the engine: what the quota module reserved for this job. */
  quota?: QuotaReservation;
  delivery?: {
    via: 'original' | 'channel' | 'dm';
    messageId?: string;
    channelId?: string;
    compressed?: boolean;
    at: number;
  };
  /** Discord message nonce, fixed per job, so a channel post repeated after a crash is deduplicated. */
  nonce: string;
  /**
   * Set (and saved) before the result is uploaded to the interaction reply: after a crash and a restart past the
   * token's life, the reply is checked for the image before a channel post could show it a second time.
   */
  originalUploadTried?: boolean;
  failure?: JobFailure;
}

import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { EditForms } from './discord/forms.js';
import type { InputImages } from './discord/input-images.js';
import type { MessageReader } from './discord/messages.js';
import type { Acknowledgements } from './discord/transport/acknowledgements.js';
import type { GuildPolicyStore } from './guild-settings/store.js';
import type { JobEngine } from './jobs/engine.js';
import type { MemberHistory } from './jobs/history.js';
import type { Intake } from './jobs/intake.js';
import type { JobRecord } from './jobs/types.js';
import type { Logger } from './logger.js';
import type { OperatorStatus } from './ops/status.js';
import type { ServerLimits } from './preferences/limits.js';
import type { Preferences } from './preferences/store.js';
import type { QuotaService } from './quota/service.js';

/**
 * What command handlers get: built once in main.ts, passed down (no module-level singletons). Commands turn
 * interactions into plain requests and refusals into replies: they reach the core through `intake` (new jobs),
 * `engine` (retries, kept results) and read-only lookups — never storage, the job store or the Luma client.
 */
export interface BotContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Where new jobs are accepted: the server's rules, the quota, storage and the queue (src/jobs/intake.ts). */
  readonly intake: Pick<Intake, 'accept'>;
  /** A job by id, checked (buttons and forms name jobs). */
  readonly jobs: { get(id: string): Promise<JobRecord | undefined> };
  /** Members' recent jobs, for /history. */
  readonly history: Pick<MemberHistory, 'ids'>;
  /** The jobs of this process: a Retry of a failed one, a redelivery, kept results handed over. */
  readonly engine: Pick<JobEngine, 'redeliver' | 'retry' | 'handOverUndelivered'>;
  readonly quota: QuotaService;
  /** Each server's rules (channels, blocked terms), for /bot-admin. */
  readonly policies: GuildPolicyStore;
  /** Members' images taken in by commands: allowed origins, type and size, no animated GIF. */
  readonly inputs: InputImages;
  /** Messages read by REST ("Edit image"). */
  readonly messages: MessageReader;
  /** State of "Edit image" forms opened where the bot cannot read the message again (a user install). */
  readonly forms: EditForms;
  /** Interactions not acknowledged yet: starting a job waits for them (a burst's acknowledgements go first). */
  readonly acks: Acknowledgements;
  /** The operator's figures (/bot-status): spend, queue, Luma limits, recent failures. */
  readonly ops: { status(): Promise<OperatorStatus> };
  /** Members' own defaults (/settings) and each server's defaults and limits (src/preferences). */
  readonly preferences: Preferences;
  /** What a server lets its members ask for (uni-1-max, several images): checked again before a price is shown. */
  readonly limits: Pick<ServerLimits, 'check'>;
  /** The clock (a deferral's wait for the member's settings is bounded on it). */
  readonly clock: Clock;
}

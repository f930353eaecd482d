import type { Config } from './config.js';
import type { Acknowledgements } from './discord/transport/acknowledgements.js';
import type { InputImages } from './discord/input-images.js';
import type { MessageReader } from './discord/messages.js';
import type { DiscordResponder } from './discord/transport/responder.js';
import type { JobEngine } from './jobs/engine.js';
import type { JobStore } from './jobs/store.js';
import type { Logger } from './logger.js';
import type { OperatorStatus } from './ops/status.js';
import type { LumaClient } from './luma/client.js';
import type { QuotaService } from './quota/service.js';
import type { Storage } from './storage/index.js';

/** What command handlers get: built once in main.ts, passed down (no module-level singletons). */
export interface BotContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly luma: LumaClient;
  readonly engine: JobEngine;
  readonly jobs: JobStore;
  readonly discord: DiscordResponder;
  readonly quota: QuotaService;
  /** Members' images taken in by commands: allowed origins, type and size, no animated GIF. */
  readonly inputs: InputImages;
  /** Messages read by REST ("Edit image"). */
  readonly messages: MessageReader;
  /** Interactions not acknowledged yet: starting a job waits for them (a burst's acknowledgements go first). */
  readonly acks: Acknowledgements;
  /** The operator's figures (/bot-status): spend, queue, Luma limits, recent failures. */
  readonly ops: { status(): Promise<OperatorStatus> };
}

import type { Dispatcher } from 'undici';
import type { Config } from './config.js';
import type { DiscordResponder } from './discord/responder.js';
import type { StillImageCheck } from './discord/still-images.js';
import type { JobEngine } from './jobs/engine.js';
import type { JobStore } from './jobs/store.js';
import type { Logger } from './logger.js';
import type { OperatorStatus } from './ops/status.js';
import type { LumaClient } from './luma/client.js';
import type { QuotaService } from './quota/service.js';
import type { Storage } from './storage.js';

/** What command handlers get: built once in main.ts, passed down (no module-level singletons). */
export interface BotContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly luma: LumaClient;
  /** The one undici pool for our own downloads (member images we check, results). */
  readonly http: Dispatcher;
  readonly engine: JobEngine;
  readonly jobs: JobStore;
  readonly discord: DiscordResponder;
  readonly quota: QuotaService;
  /** Bot-wide, bounded checks that GIF inputs are still images. */
  readonly stillImages: StillImageCheck;
  /** The operator's figures (/bot-status): spend, queue, Luma limits, recent failures. */
  readonly ops: { status(): Promise<OperatorStatus> };
}

import { fitToLimit } from '../images/fit.js';
import { sniffImageType } from '../images/sniff.js';
import { CorruptValueError } from '../storage/index.js';
import { retryingWrite, type StoreEnv } from './records.js';

export const DEFAULT_KEPT_RESULT_TTL_MS = 14 * 24 * 3600 * 1000;
export const DEFAULT_KEPT_RESULT_MAX_BYTES = 10 * 1024 * 1024;

export interface KeptResultsOptions {
  /** How long a result that could not be delivered is kept for its member, ms. */
  ttlMs?: number;
  /** Largest kept result, bytes: a bigger one is re-encoded (WebP, then downscaled) to fit. */
  maxBytes?: number;
}

/**
 * The hand-over shelf: results that exist but reached no route, kept for their member (`result:<jobId>`, and a list
 * per member, `jobs:undelivered:<userId>`) to hand over on their next interaction.
 */
export class KeptResults {
  private readonly ttlMs: number;
  private readonly maxBytes: number;

  constructor(
    private readonly env: StoreEnv,
    opts: KeptResultsOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_KEPT_RESULT_TTL_MS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_KEPT_RESULT_MAX_BYTES;
  }

  /** Puts a job on its member's list (the list lives as long as the newest result on it). */
  async add(userId: string, jobId: string): Promise<void> {
    const key = listKey(userId);
    await retryingWrite(this.env, { jobId, what: 'kept-result list' }, () =>
      this.env.storage.withLock(key, async () => {
        const ids = await this.ids(key);
        await this.env.storage.set(key, ids.includes(jobId) ? ids : [...ids, jobId], this.ttlMs);
      }),
    );
  }

  /** Takes a job off the member's list (it reached them after all, e.g. when a restart retried it). */
  async remove(userId: string, jobId: string): Promise<void> {
    const key = listKey(userId);
    await retryingWrite(this.env, { jobId, what: 'kept-result list' }, () =>
      this.env.storage.withLock(key, async () => {
        const ids = await this.ids(key);
        if (!ids.includes(jobId)) return;
        const rest = ids.filter((x) => x !== jobId);
        if (rest.length > 0) await this.env.storage.set(key, rest, this.ttlMs);
        else await this.env.storage.delete(key);
      }),
    );
  }

  /** Runs `fn` as the only hand-over of this member's kept results (two interactions at once must not send one twice). */
  async exclusive(userId: string, fn: () => Promise<void>): Promise<void> {
    await this.env.storage.withLock(`handover:${userId}`, fn);
  }

  list(userId: string): Promise<string[]> {
    return this.ids(listKey(userId));
  }

  /**
   * Keeps a result for the kept-result lifetime, re-encoded to the size cap if it is larger (it is fitted to the
   * route it is handed over through again then anyway).
   */
  async putResult(jobId: string, bytes: Buffer): Promise<void> {
    const fitted = await fitToLimit(bytes, sniffImageType(bytes) ?? 'image/png', this.maxBytes);
    if (fitted.compressed) this.env.log?.info({ jobId, bytes: bytes.length, kept: fitted.data.length }, 'kept result re-encoded to the size cap');
    await retryingWrite(this.env, { jobId, what: 'kept result' }, () => this.env.storage.set(`result:${jobId}`, fitted.data.toString('base64'), this.ttlMs));
  }

  async getResult(jobId: string): Promise<Buffer | undefined> {
    const b64 = await this.readLenient(`result:${jobId}`);
    return typeof b64 === 'string' ? Buffer.from(b64, 'base64') : undefined;
  }

  private async ids(key: string): Promise<string[]> {
    const value = await this.readLenient(key);
    return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
  }

  /** A read of a small derived record where an unreadable value counts as none (the next write replaces it). */
  private async readLenient(key: string): Promise<unknown> {
    try {
      return await this.env.storage.get<unknown>(key);
    } catch (err) {
      if (err instanceof CorruptValueError) return undefined;
      throw err;
    }
  }
}

const listKey = (userId: string): string => `jobs:undelivered:${userId}`;

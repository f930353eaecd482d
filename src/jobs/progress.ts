import type { ProgressState } from './delivery.js';
import type { JobRecord } from './types.js';

/** Where a job stands for its member, from its record: its place in the queue and recent jobs' time given. */
export function progressState(job: JobRecord, info: { now: number; position?: number; estimateMs?: number }): ProgressState | undefined {
  const place = info.position !== undefined && info.position > 0 ? { position: info.position } : {};
  switch (job.step) {
    case 'queued':
    case 'submitting':
      if (job.lumaUnavailableSince !== undefined) return { stage: 'lumaDown' };
      // A queued job told to wait was sent back by Luma (a 429, or its `rate_limited`).
      if (job.step === 'queued' && job.notBefore !== undefined && job.notBefore > info.now) return { stage: 'lumaBusy', ...place };
      return 'position' in place ? { stage: 'waiting', ...place } : { stage: 'sending' };
    case 'polling':
      if (job.lumaUnavailableSince !== undefined) return { stage: 'lumaSilent' };
      if (job.lastLumaState === 'processing' && job.processingAt !== undefined) {
        return { stage: 'generating', since: job.processingAt, ...(info.estimateMs !== undefined ? { estimateMs: info.estimateMs } : {}) };
      }
      return { stage: 'atLuma', since: job.submittedAt ?? job.createdAt };
    case 'downloading':
      // Luma is down while the finished image needs a fresh URL from it: the member is told, as while polling.
      if (job.lumaUnavailableSince !== undefined) return { stage: 'lumaSilent' };
      return { stage: 'finishing' };
    case 'delivering':
      return { stage: 'finishing' };
    default:
      return undefined;
  }
}

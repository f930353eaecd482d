// Fenced job ownership: which process may still act on a job. Every claim of a job (enqueue, takeover, Retry) gives
// it a new epoch, a number that only grows, kept with its lease. Every save of the job's record is a compare-and-set
// on owner + epoch, and the side effects that cost or reach the member (the POST to Luma, the upload of a result, a
// refund) each go only after a fresh check of the lease. A process that finds a job no longer its own (its lease
// lapsed and another process took the job, or a newer claim superseded it) drops the job at once: no further save
// and no further side effect. The Redis implementation is in redis-leases.ts; with one process (SQLite) the fence
// is trivial (leases.ts).

/** An owner record outlives any job (JOB_MAX_AGE_MS is at most a day); it only guards against a leak. */
export const OWNER_TTL_MS = 2 * 24 * 3600_000;

/** The job is no longer ours: another process holds it (or may take it any moment). Nothing more may be done for it. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(
    readonly jobId: string,
    readonly why: string,
  ) {
    super(`job ${jobId} is no longer this process's: ${why}`);
  }
}

export interface JobLeases {
  /** This process's id (in logs). */
  readonly processId: string;
  /** Makes the jobs ours when nobody live holds them, each with a new epoch; returns the ids that are ours now. */
  claim(jobIds: readonly string[]): Promise<Set<string>>;
  /** Whether the job is ours by a claim of this process (its epoch is known here). */
  holds(jobId: string): boolean;
  /**
   * Writes the job's record (`key`, as Storage.set would) only while the job is ours at our epoch: one atomic step.
   * It ends the job's hold (see check): the outcome of what was in flight is in this record. Throws LeaseLostError
   * when the job is not ours any more (the record is left as it is), StorageError when storage did not answer.
   */
  write(jobId: string, key: string, value: unknown, ttlMs: number | undefined): Promise<void>;
  /**
   * A fresh check before a side effect: throws LeaseLostError unless the job is ours and our lease is alive. With
   * `holdMs`, a side effect that cannot be taken back goes next (the POST, an upload): until its outcome is saved (or
   * `holdMs` passed) no other process takes the job over, even if this one stalls past its lease meanwhile.
   * `recent` (a progress edit): a heartbeat renewed within the last half lease is proof enough.
   */
  check(jobId: string, opts?: { holdMs?: number; recent?: boolean }): Promise<void>;
  /**
   * Whether a takeover pass may claim other processes' jobs now: not for one lease after our own heartbeat was found
   * lapsed (Redis was unreachable: the others renew theirs first, rather than lose their jobs to us).
   */
  mayTakeOver(): boolean;
  /**
   * Renews this process's heartbeat now. When it had lapsed, the jobs another process took meanwhile are told to the
   * `onLost` listener (and dropped by it) before this resolves. Runs before every takeover pass.
   */
  renew(): Promise<void>;
  /** Who hears of jobs found lost when a lapsed heartbeat is renewed. */
  onLost(listener: (jobIds: string[]) => void): void;
  /** The job ended: nobody needs to own it any more. Never throws (an owner record left behind is harmless). */
  release(jobId: string): Promise<void>;
  /** Stops renewing and gives our jobs up at once, for another process to take over. */
  close(): Promise<void>;
}

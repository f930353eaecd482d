import type { StorageAlarm } from './alarm.js';

/**
 * Storage is one keyv instance; callers namespace their keys by prefix (`job:…`, `quota:…`). One instance
 * (rather than one per namespace) keeps a single SQLite connection / Redis client per process.
 *
 * Every operation either did what it says or throws a StorageError: keyv's default of swallowing store errors
 * (a failed write "succeeds", a failed read is "not found") would let a quota reservation or a job save vanish.
 */
export interface Storage {
  readonly kind: 'sqlite' | 'redis' | 'memory';
  /** Throws StorageError when storage cannot be read, CorruptValueError when the stored text is not readable. */
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Runs `fn` while holding an exclusive lock on `name`: in-process always, and across processes on Redis
   * (several shards share one Redis). Read-modify-write of a shared record must go through here.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Reads `keys`, lets `decide` work out the writes from their values, and makes them all or none, atomically
   * against every other writer: on Redis a compare-and-set (decided again when a record read changed meanwhile),
   * so a writer whose lock lapsed while it stalled cannot write over a newer value; on SQLite and in memory (one
   * process) under the caller's in-process lock. A record that does not parse is read as an `Unreadable`.
   */
  atomic<T>(keys: readonly string[], decide: AtomicDecide<T>): Promise<T>;
  /**
   * Deletes records whose time to live has passed; returns how many. keyv deletes an expired record only when it
   * is read, so on SQLite nothing else ever does; Redis expires keys by itself (0).
   */
  sweepExpired(): Promise<number>;
  /**
   * The keys under `prefix` whose record is an object with the top-level `field` at one of `values` (e.g. the
   * unfinished job records). A scan of the store, done where the data is: for repairs at start, not for requests.
   */
  findKeys(prefix: string, field: string, values: readonly string[]): Promise<string[]>;
  /**
   * The raw Redis client, for what needs atomic scripts across processes (the shared Luma budget, job leases);
   * undefined on SQLite. Its keys must start with `prefix`.
   */
  readonly redis?: RedisHandle | undefined;
  /** Tells the operator, once per outage, that storage is failing; cleared by the next successful write. */
  readonly alarm: StorageAlarm;
  close(): Promise<void>;
}

/** What scripts on Redis get: the client, the prefix their keys start with, and how a record is stored. */
export interface RedisHandle {
  readonly client: RedisScripts;
  readonly prefix: string;
  /**
   * The Redis key and text under which `set(key, value, ttlMs)` stores a record (keyv's format), for a script that
   * writes it only under a condition (a fenced job save: src/jobs/redis-leases.ts).
   */
  entry(key: string, value: unknown, ttlMs: number | undefined): Promise<{ key: string; text: string }>;
}

/** The part of the Redis client scripts need: EVAL with keys and arguments (numbers and strings come back as Redis returns them). */
export interface RedisScripts {
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface StorageOptions {
  /** Prefix of every key (STORAGE_NAMESPACE), default "bot". */
  namespace?: string;
  /** How long an operation on a SQLite file another process holds locked waits before it fails, ms. */
  busyTimeoutMs?: number;
}

/** Storage did not do what was asked (locked, full, unreachable, refusing writes): nothing may be assumed saved. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly op: 'get' | 'set' | 'delete' | 'lock' | 'sweep',
    readonly key: string,
    cause: unknown,
  ) {
    super(`storage ${op} of "${key}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * A record that guarded something could not be read and was moved aside (quarantined): what it guarded is refused
 * until an admin (or the operator) sets it again. `record` names the kind of record, in the core's words.
 */
export class LostRecordError extends Error {
  override name = 'LostRecordError';
  constructor(
    readonly record: string,
    readonly key: string,
  ) {
    super(`the stored ${record} (${key}) could not be read and was moved aside; it starts again when an admin sets it`);
  }
}

/** A stored value that is not readable (truncated, not JSON). Not transient: reading it again gives the same. */
export class CorruptValueError extends Error {
  override name = 'CorruptValueError';
  constructor(
    readonly key: string,
    /** The stored text as it is, to quarantine it. */
    readonly raw: string,
  ) {
    super(`the stored value of "${key}" is not readable (${raw.length} characters)`);
  }
}

/** One write of an atomic step: a value (with its time to live, ms), or a deletion. */
export type AtomicWrite = { key: string; value: unknown; ttlMs?: number | undefined } | { key: string; delete: true };

/** What a step decided from what it read: the writes (all or none land), and what the caller gets back. */
export interface AtomicStep<T> {
  writes: readonly AtomicWrite[];
  result: T;
}

/**
 * Decides a step from the records read (in the order of the keys): each one's value, undefined when there is none,
 * or an `Unreadable` (its stored text) when it does not parse. May run more than once (on Redis, when a record
 * changed meanwhile): it must only compute. It may throw to write nothing.
 */
export type AtomicDecide<T> = (values: readonly unknown[]) => AtomicStep<T> | Promise<AtomicStep<T>>;

import { readValue, Unreadable } from './atomic.js';
import { moveAside } from './quarantine.js';
import { LostRecordError, type Storage } from './types.js';

/** Where one kind of per-server record lives, and how a stored value is made well-formed. */
export interface GuildRecordKind<T> {
  /** What the record is, in the core's words (`quotaSettings`, `policy`, …): LostRecordError's `record`. */
  readonly name: string;
  /** Storage key of a server's record. */
  key(guildId: string): string;
  /** Lock guarding its read-modify-write. */
  lock(guildId: string): string;
  /**
   * The record from what is stored (undefined when nothing is): keeps only well-formed parts, so a hand-edited or
   * older record cannot break every request on a server.
   */
  normalize(raw: unknown): T;
}

/** What stands in a lost record's place until an admin sets it again: where its text was moved. */
const LOST = 'lostRecordMovedTo';

/** What a stored value is: a record, nothing, a placeholder of a lost one, or text that is no record (why). */
function classify(v: unknown): { kind: 'record' | 'none' | 'lost' } | { kind: 'bad'; raw: string; problem: string } {
  if (v === undefined || v === null) return { kind: 'none' };
  if (v instanceof Unreadable) return { kind: 'bad', raw: v.raw, problem: 'the stored text is not readable (cut short, or not JSON)' };
  if (typeof v !== 'object' || Array.isArray(v)) return { kind: 'bad', raw: JSON.stringify(v) ?? String(v), problem: 'the stored value is not a record' };
  return LOST in v ? { kind: 'lost' } : { kind: 'record' };
}

const REFUSED =
  "the server's members are refused what it guards (told that its admins have been told) until an admin sets it again; the admins' commands start again from the defaults";

/**
 * One record per server (its quota settings, its rules), read as a whole and changed by an atomic read-modify-write
 * under the server's lock for that kind. The one store behind every per-server setting.
 *
 * A record that no longer parses is moved aside (`quarantine:<key>:<ms>`, with its text) and one `OPERATOR:` line
 * says so. What it guarded is not guessed: members' reads (`get`) throw a LostRecordError until an admin sets it
 * again; an admin's read (`forAdmin`) or change (`update`) starts again from the defaults and says so (`reset`).
 */
export class GuildRecords<T> {
  constructor(
    private readonly storage: Storage,
    private readonly kind: GuildRecordKind<T>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A member's read: the record, or a LostRecordError when it could not be read (moved aside the first time). */
  async get(guildId: string): Promise<T> {
    const key = this.kind.key(guildId);
    const v = await readValue(this.storage, key);
    const found = classify(v);
    if (found.kind === 'record' || found.kind === 'none') return this.kind.normalize(v);
    if (found.kind === 'bad') {
      const at = this.now();
      const moved = await this.storage.atomic([key], ([again]) => {
        const still = classify(again);
        if (still.kind !== 'bad') return { writes: [], result: undefined };
        const aside = moveAside({ key, raw: still.raw, problem: still.problem }, at);
        return { writes: [aside, { key, value: { [LOST]: aside.key } }], result: { quarantineKey: aside.key, problem: still.problem } };
      });
      if (moved) this.told(key, moved.quarantineKey, moved.problem);
    }
    throw new LostRecordError(this.kind.name, key);
  }

  /** An admin's read: the record, or the defaults in place of one that was lost (stored, so members are served again). */
  async forAdmin(guildId: string): Promise<{ value: T; reset: boolean }> {
    const v = await readValue(this.storage, this.kind.key(guildId));
    const found = classify(v);
    if (found.kind === 'record' || found.kind === 'none') return { value: this.kind.normalize(v), reset: false };
    const { value, reset } = await this.update(guildId, () => undefined);
    return { value, reset };
  }

  /**
   * An admin's change: applies `change` and stores the result; `change` may throw to leave the record as it was. A
   * record that was lost starts again from the defaults (`reset`). `change` may run more than once (on Redis, when
   * the record changed meanwhile): it must only change the value it is given.
   */
  async update<R>(guildId: string, change: (value: T) => R): Promise<{ value: T; result: R; reset: boolean }> {
    const key = this.kind.key(guildId);
    const at = this.now();
    const outcome = await this.storage.withLock(this.kind.lock(guildId), () =>
      this.storage.atomic([key], ([v]) => {
        const found = classify(v);
        const fresh = found.kind === 'record' || found.kind === 'none';
        const value = this.kind.normalize(fresh ? v : undefined);
        const result = change(value);
        const aside = found.kind === 'bad' ? moveAside({ key, raw: found.raw, problem: found.problem }, at) : undefined;
        return { writes: [{ key, value }, ...(aside ? [aside] : [])], result: { value, result, reset: !fresh, aside, problem: found.kind === 'bad' ? found.problem : '' } };
      }),
    );
    if (outcome.aside) this.told(key, outcome.aside.key, outcome.problem, 'an admin has just set it again from the defaults');
    return { value: outcome.value, result: outcome.result, reset: outcome.reset };
  }

  private told(key: string, quarantineKey: string, problem: string, instead = REFUSED): void {
    this.storage.alarm.movedAside({ key, quarantineKey, problem, instead });
  }
}

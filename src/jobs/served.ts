import { fairOrder, guildKey } from './fair-order.js';
import type { JobRecord } from './types.js';

/**
 * The round-robin's memory: when each server and each member was last served (a counter, not a time), so the fair
 * pick goes to the server served longest ago, then within it the member served longest ago.
 */
export class ServedOrder {
  readonly guilds = new Map<string, number>();
  readonly users = new Map<string, number>();
  private counter = 0;

  /** The job is being sent: its server and its member are now the most recently served. */
  mark(job: JobRecord): void {
    this.counter++;
    this.guilds.set(guildKey(job), this.counter);
    this.users.set(job.requester.userId, this.counter);
  }

  /**
   * The memory only matters for servers and members with work here (`jobs`, `count` of them); dropping the rest keeps
   * it from growing with every member the bot ever served. One who comes back counts as not served lately, which is
   * fair.
   */
  prune(jobs: Iterable<JobRecord>, count: number): void {
    if (this.users.size <= 2 * count + 256) return;
    const users = new Set<string>();
    const guilds = new Set<string>();
    for (const j of jobs) {
      users.add(j.requester.userId);
      guilds.add(guildKey(j));
    }
    for (const id of this.users.keys()) if (!users.has(id)) this.users.delete(id);
    for (const id of this.guilds.keys()) if (!guilds.has(id)) this.guilds.delete(id);
  }

  /** 1-based places of `queued` in the order the fair pick would send them. */
  positions(queued: Iterable<JobRecord>): Map<string, number> {
    const waiting = [];
    for (const j of queued) waiting.push({ id: j.id, createdAt: j.createdAt, guild: guildKey(j), userId: j.requester.userId });
    const positions = new Map<string, number>();
    for (const j of fairOrder(waiting, this.guilds, this.users, this.counter)) positions.set(j.id, positions.size + 1);
    return positions;
  }
}

/** The jobs Luma's concurrency limit counts now, in all and by member. */
export class AtLumaCount {
  private readonly jobs = new Map<string, string>();
  private readonly byUser = new Map<string, number>();

  get size(): number {
    return this.jobs.size;
  }

  ofUser(userId: string): number {
    return this.byUser.get(userId) ?? 0;
  }

  /** Counts the job at Luma or not; when it stopped counting, returns how many its member has left there. */
  count(job: JobRecord, at: boolean): number | undefined {
    const user = job.requester.userId;
    if (at === this.jobs.has(job.id)) return undefined;
    if (at) {
      this.jobs.set(job.id, user);
      this.byUser.set(user, this.ofUser(user) + 1);
      return undefined;
    }
    this.jobs.delete(job.id);
    const left = this.ofUser(user) - 1;
    if (left > 0) this.byUser.set(user, left);
    else this.byUser.delete(user);
    return Math.max(0, left);
  }
}

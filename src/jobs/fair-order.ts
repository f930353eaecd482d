// The fair pick (FairQueue, O(log n) a pick), and the order in which it would serve a queue, worked out in
// O(n log n) so a queue of thousands can show every member their place. The rule: the server served longest ago
// first, then within it the member served longest ago, then that member's oldest job; serving one makes its server
// and its member the most recently served.

import { Heap } from './heap.js';
import type { JobRecord } from './types.js';

/** Round-robin key of a job's server; each member's DMs count as a server of their own. */
export function guildKey(job: JobRecord): string {
  return job.requester.guildId ?? `dm:${job.requester.userId}`;
}

/** A member's jobs waiting on one server, oldest first (ties: the order they came in), and their live heap entry. */
interface MemberQueue {
  guild: string;
  user: string;
  jobs: { job: JobRecord; seq: number }[];
  /** Bumped whenever a new heap entry stands for this queue: older entries are dropped when they come out. */
  gen: number;
  /** Its member is at their in-flight cap: out of the heap until unpark(). */
  parked: boolean;
}
/** A snapshot of a member queue's key: (server served, member served, oldest job's creation, its arrival). */
interface QueueEntry {
  queue: MemberQueue;
  gen: number;
  guild: number;
  user: number;
  createdAt: number;
  seq: number;
}

const byKey = (a: QueueEntry, b: QueueEntry): number => a.guild - b.guild || a.user - b.user || a.createdAt - b.createdAt || a.seq - b.seq;

/**
 * The queued jobs free to be sent, kept so the fair pick costs O(log n) instead of a look at every job: the same
 * choice as `fairest` over them, ties going to the job that came first (`seq`). A heap of member queues keyed by
 * (server served, member served, oldest job); keys only grow between pushes (serving raises counters, taking a job
 * out leaves a younger one first), so an entry is checked when it comes out on top and pushed again if it is
 * stale. A member at their cap is parked, and comes back when `unpark` says they have room.
 */
export class FairQueue {
  private readonly queues = new Map<string, MemberQueue>();
  private readonly parked = new Map<string, Set<MemberQueue>>();
  private readonly heap = new Heap<QueueEntry>(byKey);
  private count = 0;

  constructor(
    private readonly guildsServed: ReadonlyMap<string, number>,
    private readonly usersServed: ReadonlyMap<string, number>,
  ) {}

  get size(): number {
    return this.count;
  }

  add(job: JobRecord, seq: number): void {
    const guild = guildKey(job);
    const user = job.requester.userId;
    const id = `${guild}\u0000${user}`;
    let queue = this.queues.get(id);
    if (!queue) this.queues.set(id, (queue = { guild, user, jobs: [], gen: 0, parked: false }));
    const jobs = queue.jobs;
    let at = jobs.length;
    while (at > 0 && olderThan(job.createdAt, seq, jobs[at - 1] as { job: JobRecord; seq: number })) at--;
    jobs.splice(at, 0, { job, seq });
    this.count++;
    // A queue that is new, or whose oldest job is now older than its entry says, needs an entry with its lower key.
    if (at === 0 && !queue.parked) this.push(queue);
  }

  /** Takes a job out (picked, busy, or gone); false when it was not here. */
  delete(job: JobRecord): boolean {
    const id = `${guildKey(job)}\u0000${job.requester.userId}`;
    const queue = this.queues.get(id);
    const at = queue?.jobs.findIndex((q) => q.job === job) ?? -1;
    if (!queue || at < 0) return false;
    queue.jobs.splice(at, 1);
    this.count--;
    if (queue.jobs.length === 0) {
      this.queues.delete(id);
      queue.gen++; // its entry, if any, is dropped when it comes out
      this.parked.get(queue.user)?.delete(queue);
    }
    return true;
  }

  /**
   * The job the fair pick serves next, skipping members `atCap` says are at their cap (they are parked until
   * `unpark`); it stays here until deleted.
   */
  next(atCap: (userId: string) => boolean): JobRecord | undefined {
    for (let top = this.heap.peek(); top; top = this.heap.peek()) {
      const queue = top.queue;
      const oldest = queue.jobs[0];
      if (top.gen !== queue.gen || !oldest) {
        this.heap.pop();
        continue;
      }
      const current = this.entry(queue);
      if (byKey(current, top) !== 0) {
        this.heap.pop();
        this.heap.push(current);
        continue;
      }
      if (atCap(queue.user)) {
        this.heap.pop();
        queue.gen++;
        queue.parked = true;
        let set = this.parked.get(queue.user);
        if (!set) this.parked.set(queue.user, (set = new Set()));
        set.add(queue);
        continue;
      }
      return oldest.job;
    }
    return undefined;
  }

  /** The member has room again: their parked queues go back in line. */
  unpark(userId: string): void {
    const set = this.parked.get(userId);
    if (!set) return;
    this.parked.delete(userId);
    for (const queue of set) {
      queue.parked = false;
      if (queue.jobs.length > 0) this.push(queue);
    }
  }

  private push(queue: MemberQueue): void {
    queue.gen++;
    this.heap.push(this.entry(queue));
  }

  private entry(queue: MemberQueue): QueueEntry {
    const oldest = queue.jobs[0];
    return {
      queue,
      gen: queue.gen,
      guild: this.guildsServed.get(queue.guild) ?? -1,
      user: this.usersServed.get(queue.user) ?? -1,
      createdAt: oldest?.job.createdAt ?? 0,
      seq: oldest?.seq ?? 0,
    };
  }
}

function olderThan(createdAt: number, seq: number, other: { job: JobRecord; seq: number }): boolean {
  return createdAt < other.job.createdAt || (createdAt === other.job.createdAt && seq < other.seq);
}

/** What the order needs of a queued job. */
export interface FairJob {
  createdAt: number;
  /** Round-robin key of its server (each member's DMs count as a server of their own). */
  guild: string;
  userId: string;
}

/**
 * `jobs` in the order the fair pick serves them, given when each server and member was last served (a counter;
 * absent = never, which comes first). Ties (same server and member counters and creation time) in any order.
 */
export function fairOrder<J extends FairJob>(jobs: readonly J[], guildsServed: ReadonlyMap<string, number>, usersServed: ReadonlyMap<string, number>, counter: number): J[] {
  return new FairOrder(byServerAndMember(jobs), guildsServed, usersServed, counter).serveAll();
}

/** One member's jobs on one server, oldest first once the order starts, and how many were served. */
interface MemberJobs<J> {
  jobs: J[];
  next: number;
}

/** Per server, per member: their jobs there, in the order given. */
function byServerAndMember<J extends FairJob>(jobs: readonly J[]): Map<string, Map<string, MemberJobs<J>>> {
  const lists = new Map<string, Map<string, MemberJobs<J>>>();
  for (const job of jobs) {
    let byUser = lists.get(job.guild);
    if (!byUser) lists.set(job.guild, (byUser = new Map()));
    let list = byUser.get(job.userId);
    if (!list) byUser.set(job.userId, (list = { jobs: [], next: 0 }));
    list.jobs.push(job);
  }
  return lists;
}

type UserEntry = { user: string; served: number; createdAt: number };
type GuildEntry = { guild: string; served: number; user: number; createdAt: number };

/**
 * The serving of one queue, simulated: a heap of servers keyed by (server served, its next member's served, that
 * member's oldest job), and per server a heap of its members keyed by (member served, oldest job).
 * Keys only ever grow (a serve sets counters to the newest value; a member's next job is no older), so both heaps
 * keep a snapshot of each key and check it when it comes out on top: a stale one goes back in with its true key.
 */
class FairOrder<J extends FairJob> {
  private readonly guildServed: Map<string, number>;
  private readonly userServed: Map<string, number>;
  private readonly userHeaps = new Map<string, Heap<UserEntry>>();
  private readonly guildHeap = new Heap<GuildEntry>((a, b) => a.served - b.served || a.user - b.user || a.createdAt - b.createdAt);

  constructor(
    private readonly lists: Map<string, Map<string, MemberJobs<J>>>,
    guildsServed: ReadonlyMap<string, number>,
    usersServed: ReadonlyMap<string, number>,
    private counter: number,
  ) {
    this.guildServed = new Map(guildsServed);
    this.userServed = new Map(usersServed);
    for (const [guild, byUser] of lists) {
      const heap = new Heap<UserEntry>((a, b) => a.served - b.served || a.createdAt - b.createdAt);
      for (const [user, list] of byUser) {
        list.jobs.sort((a, b) => a.createdAt - b.createdAt);
        heap.push(this.userEntry(user, list.jobs[0]?.createdAt ?? 0));
      }
      this.userHeaps.set(guild, heap);
      const top = this.topOf(guild);
      if (top) this.guildHeap.push(this.guildEntry(guild, top));
    }
  }

  /** Every job, in the order served. */
  serveAll(): J[] {
    const out: J[] = [];
    for (let entry = this.guildHeap.pop(); entry; entry = this.guildHeap.pop()) {
      const top = this.topOf(entry.guild);
      if (!top) continue;
      const current = this.guildEntry(entry.guild, top);
      if (current.served !== entry.served || current.user !== entry.user || current.createdAt !== entry.createdAt) {
        this.guildHeap.push(current);
        continue;
      }
      const job = this.serve(entry.guild, top);
      if (job) out.push(job);
    }
    return out;
  }

  /** Serves the oldest job of the server's next member, and puts both back in line with their new keys. */
  private serve(guild: string, top: UserEntry): J | undefined {
    this.userHeaps.get(guild)?.pop();
    const list = this.lists.get(guild)?.get(top.user);
    const job = list?.jobs[list.next++];
    if (!list || !job) return undefined;
    this.counter++;
    this.guildServed.set(guild, this.counter);
    this.userServed.set(top.user, this.counter);
    const following = list.jobs[list.next];
    if (following) this.userHeaps.get(guild)?.push(this.userEntry(top.user, following.createdAt));
    const nextTop = this.topOf(guild);
    if (nextTop) this.guildHeap.push(this.guildEntry(guild, nextTop));
    return job;
  }

  /** The member to serve next on a server, with their key brought up to date. */
  private topOf(guild: string): UserEntry | undefined {
    const heap = this.userHeaps.get(guild);
    for (let top = heap?.peek(); heap && top; top = heap.peek()) {
      const served = this.userServed.get(top.user) ?? -1;
      if (served === top.served) return top;
      heap.pop();
      heap.push({ ...top, served });
    }
    return undefined;
  }

  private userEntry(user: string, createdAt: number): UserEntry {
    return { user, served: this.userServed.get(user) ?? -1, createdAt };
  }

  private guildEntry(guild: string, top: UserEntry): GuildEntry {
    return { guild, served: this.guildServed.get(guild) ?? -1, user: top.served, createdAt: top.createdAt };
  }
}

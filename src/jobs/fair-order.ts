// The fair pick (`fairest`), and the order in which it would serve a queue, worked out in O(n log n) so a queue
// of thousands can show every member their place. The rule: the server served longest ago first, then within it
// the member served longest ago, then that member's oldest job; serving one makes its server and its member the
// most recently served.

import type { JobRecord } from './types.js';

/** Round-robin key of a job's server; each member's DMs count as a server of their own. */
export function guildKey(job: JobRecord): string {
  return job.discord.guildId ?? `dm:${job.discord.userId}`;
}

/**
 * The job to serve next: from the server served longest ago, then its member served longest ago, then that
 * member's oldest job. `guilds` / `users` hold when each was last served (a counter; absent = never).
 */
export function fairest(
  jobs: Iterable<JobRecord>,
  guilds: ReadonlyMap<string, number>,
  users: ReadonlyMap<string, number>,
  skip?: (job: JobRecord) => boolean,
): JobRecord | undefined {
  let best: JobRecord | undefined;
  let bestGuild = 0;
  let bestUser = 0;
  for (const job of jobs) {
    // Compared key by key, without building a key per job: this runs over the whole queue for every pick.
    const g = guilds.get(guildKey(job)) ?? -1;
    if (best && g > bestGuild) continue;
    const u = users.get(job.discord.userId) ?? -1;
    if (best && g === bestGuild && (u > bestUser || (u === bestUser && job.createdAt >= best.createdAt))) continue;
    if (skip?.(job)) continue;
    best = job;
    bestGuild = g;
    bestUser = u;
  }
  return best;
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
  const G = new Map(guildsServed);
  const U = new Map(usersServed);
  // Per server, per member: their jobs there, oldest first, and how many were served.
  const lists = new Map<string, Map<string, { jobs: J[]; next: number }>>();
  for (const job of jobs) {
    let byUser = lists.get(job.guild);
    if (!byUser) lists.set(job.guild, (byUser = new Map()));
    let list = byUser.get(job.userId);
    if (!list) byUser.set(job.userId, (list = { jobs: [], next: 0 }));
    list.jobs.push(job);
  }
  // Keys only ever grow (a serve sets counters to the newest value; a member's next job is no older), so both heaps
  // keep a snapshot of each key and check it when it comes out on top: a stale one goes back in with its true key.
  type UserEntry = { user: string; served: number; createdAt: number };
  type GuildEntry = { guild: string; served: number; user: number; createdAt: number };
  const userHeaps = new Map<string, Heap<UserEntry>>();
  const guildHeap = new Heap<GuildEntry>((a, b) => a.served - b.served || a.user - b.user || a.createdAt - b.createdAt);
  const userKey = (user: string, createdAt: number): UserEntry => ({ user, served: U.get(user) ?? -1, createdAt });
  /** The member to serve next on a server, with their key brought up to date. */
  const topOf = (guild: string): UserEntry | undefined => {
    const heap = userHeaps.get(guild);
    for (let top = heap?.peek(); heap && top; top = heap.peek()) {
      const served = U.get(top.user) ?? -1;
      if (served === top.served) return top;
      heap.pop();
      heap.push({ ...top, served });
    }
    return undefined;
  };
  const guildKey = (guild: string, top: UserEntry): GuildEntry => ({ guild, served: G.get(guild) ?? -1, user: top.served, createdAt: top.createdAt });

  for (const [guild, byUser] of lists) {
    const heap = new Heap<UserEntry>((a, b) => a.served - b.served || a.createdAt - b.createdAt);
    for (const [user, list] of byUser) {
      list.jobs.sort((a, b) => a.createdAt - b.createdAt);
      heap.push(userKey(user, list.jobs[0]?.createdAt ?? 0));
    }
    userHeaps.set(guild, heap);
    const top = topOf(guild);
    if (top) guildHeap.push(guildKey(guild, top));
  }

  const out: J[] = [];
  for (let entry = guildHeap.pop(); entry; entry = guildHeap.pop()) {
    const top = topOf(entry.guild);
    if (!top) continue;
    const current = guildKey(entry.guild, top);
    if (current.served !== entry.served || current.user !== entry.user || current.createdAt !== entry.createdAt) {
      guildHeap.push(current);
      continue;
    }
    userHeaps.get(entry.guild)?.pop();
    const list = lists.get(entry.guild)?.get(top.user);
    const job = list?.jobs[list.next++];
    if (!list || !job) continue;
    out.push(job);
    counter++;
    G.set(entry.guild, counter);
    U.set(top.user, counter);
    const following = list.jobs[list.next];
    if (following) userHeaps.get(entry.guild)?.push(userKey(top.user, following.createdAt));
    const nextTop = topOf(entry.guild);
    if (nextTop) guildHeap.push(guildKey(entry.guild, nextTop));
  }
  return out;
}

/** A binary min-heap. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l] as T, a[m] as T) < 0) m = l;
      if (r < a.length && this.less(a[r] as T, a[m] as T) < 0) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as T, a[i] as T];
      i = m;
    }
    return top;
  }
}

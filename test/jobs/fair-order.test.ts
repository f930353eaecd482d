// The queue's places for thousands of waiting jobs, in O(n log n), exactly as the fair pick would serve them
// (checked against the plain pick-the-minimum simulation on random queues).
import { describe, expect, it } from 'vitest';
import { FairQueue, fairOrder, guildKey, type FairJob } from '../../src/jobs/fair-order.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { makeJob } from '../quota/fixtures.js';

type J = FairJob & { id: number };

/** Repeatable random integers below n. */
function randomInts(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

/** The scheduler's rule, one pick at a time: (server served, member served, created) smallest first. */
function reference(jobs: J[], guilds: Map<string, number>, users: Map<string, number>, counter: number): J[] {
  const g = new Map(guilds);
  const u = new Map(users);
  const left = new Set(jobs);
  const out: J[] = [];
  while (left.size > 0) {
    let best: J | undefined;
    let key: number[] = [];
    for (const j of left) {
      const k = [g.get(j.guild) ?? -1, u.get(j.userId) ?? -1, j.createdAt];
      if (!best || k[0]! < key[0]! || (k[0] === key[0] && (k[1]! < key[1]! || (k[1] === key[1] && k[2]! < key[2]!)))) {
        best = j;
        key = k;
      }
    }
    left.delete(best!);
    out.push(best!);
    counter++;
    g.set(best!.guild, counter);
    u.set(best!.userId, counter);
  }
  return out;
}

describe('the fair order of the queue', () => {
  it('takes servers in turn, members in turn within a server, and each member’s oldest job first', () => {
    const jobs: J[] = [
      { id: 1, guild: 'a', userId: 'x', createdAt: 1 },
      { id: 2, guild: 'a', userId: 'x', createdAt: 2 },
      { id: 3, guild: 'a', userId: 'y', createdAt: 3 },
      { id: 4, guild: 'b', userId: 'z', createdAt: 4 },
    ];
    expect(fairOrder(jobs, new Map(), new Map(), 0).map((j) => j.id)).toEqual([1, 4, 3, 2]);
    // A server served lately waits for the others.
    expect(fairOrder(jobs, new Map([['a', 5]]), new Map(), 5).map((j) => j.id)).toEqual([4, 1, 3, 2]);
  });

  it('gives the same order as picking the fairest job one at a time, on random queues', () => {
    const rand = randomInts(11);
    for (let round = 0; round < 40; round++) {
      const jobs: J[] = [];
      const n = 1 + rand(120);
      const time = new Set<number>();
      for (let id = 0; id < n; id++) {
        let createdAt = rand(100_000);
        while (time.has(createdAt)) createdAt++;
        time.add(createdAt);
        // Members may use the bot on several servers: their counter is shared across them.
        jobs.push({ id, guild: `g${rand(6)}`, userId: `u${rand(15)}`, createdAt });
      }
      const guilds = new Map<string, number>();
      const users = new Map<string, number>();
      for (let k = 0; k < 5; k++) guilds.set(`g${rand(6)}`, 1 + rand(50));
      for (let k = 0; k < 10; k++) users.set(`u${rand(15)}`, 1 + rand(50));
      expect(fairOrder(jobs, guilds, users, 60).map((j) => j.id)).toEqual(reference(jobs, guilds, users, 60).map((j) => j.id));
    }
  });

  it('orders a queue of thousands', () => {
    const jobs: J[] = Array.from({ length: 5000 }, (_, id) => ({ id, guild: `g${id % 7}`, userId: `u${id % 400}`, createdAt: id }));
    const order = fairOrder(jobs, new Map(), new Map(), 0);
    expect(new Set(order.map((j) => j.id)).size).toBe(5000);
    // The first round reaches every member before anyone's second job.
    expect(new Set(order.slice(0, 400).map((j) => j.userId)).size).toBe(400);
  });
});

/** The pick as it was made before FairQueue: a look at every waiting job, the first of equal ones winning. */
function fairest(jobs: Iterable<JobRecord>, guilds: ReadonlyMap<string, number>, users: ReadonlyMap<string, number>, skip: (job: JobRecord) => boolean): JobRecord | undefined {
  let best: JobRecord | undefined;
  let key: number[] = [];
  for (const job of jobs) {
    const k = [guilds.get(guildKey(job)) ?? -1, users.get(job.requester.userId) ?? -1, job.createdAt];
    const better = !best || k[0]! < key[0]! || (k[0] === key[0] && (k[1]! < key[1]! || (k[1] === key[1] && k[2]! < key[2]!)));
    if (!better || skip(job)) continue;
    best = job;
    key = k;
  }
  return best;
}

describe('the fair queue', () => {
  it('picks as a look at every waiting job would, as jobs come and go, members reach their cap and get room again', () => {
    const rand = randomInts(7);
    for (let round = 0; round < 30; round++) {
      const guilds = new Map<string, number>();
      const users = new Map<string, number>();
      const queue = new FairQueue(guilds, users);
      /** Waiting jobs in the order they came (a Map keeps it), and each member's jobs "at Luma". */
      const waiting = new Map<JobRecord, number>();
      const atLuma = new Map<string, number>();
      const cap = 1 + rand(3);
      const atCap = (user: string) => (atLuma.get(user) ?? 0) >= cap;
      let seq = 0;
      let counter = 0;
      for (let step = 0; step < 400; step++) {
        const what = rand(10);
        if (what < 4) {
          // Equal creation times are common (a burst): the one that came first goes first.
          const job = makeJob({ userId: `u${rand(40)}`, guildId: rand(5) === 0 ? null : `g${rand(8)}` });
          job.createdAt = rand(3);
          waiting.set(job, seq);
          queue.add(job, seq++);
        } else if (what < 5 && waiting.size > 0) {
          const job = [...waiting.keys()][rand(waiting.size)]!;
          waiting.delete(job);
          expect(queue.delete(job)).toBe(true);
        } else if (what < 7) {
          const user = `u${rand(40)}`;
          const left = (atLuma.get(user) ?? 0) - 1;
          if (left >= 0) atLuma.set(user, left);
          if (left < cap) queue.unpark(user);
        } else {
          const expected = fairest(waiting.keys(), guilds, users, (j) => atCap(j.requester.userId));
          const got = queue.next(atCap);
          expect(got?.id).toBe(expected?.id);
          if (!got) continue;
          waiting.delete(got);
          queue.delete(got);
          counter++;
          guilds.set(guildKey(got), counter);
          users.set(got.requester.userId, counter);
          atLuma.set(got.requester.userId, (atLuma.get(got.requester.userId) ?? 0) + 1);
        }
        expect(queue.size).toBe(waiting.size);
      }
    }
  });
});

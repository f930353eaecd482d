// The queue's places for thousands of waiting jobs, in O(n log n), exactly as the fair pick would serve them
// (checked against the plain pick-the-minimum simulation on random queues).
import { describe, expect, it } from 'vitest';
import { fairOrder, type FairJob } from '../../src/jobs/fair-order.js';

type J = FairJob & { id: number };

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
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
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

// The perfect client the bench compares the bot with: it POSTs whenever a concurrency slot and Luma's sliding
// per-minute window allow, and hears of every completion the moment it happens. No real client beats it.

/**
 * Wall time, ms, for the perfect client to see every job finish, all jobs being ready at time 0. `durations[i]` is
 * the generation time (queued + processing at Luma) of the i-th POST Luma accepts.
 */
export function perfectClientFloorMs(durations: readonly number[], rpm: number, concurrent: number, windowMs = 60_000): number {
  const starts: number[] = [];
  const finishes: number[] = [];
  let t = 0;
  for (const d of durations) {
    for (;;) {
      let next = t;
      const active = finishes.filter((f) => f > t).sort((a, b) => a - b);
      // The moment one more slot is free: when the (n − concurrent + 1)-th earliest active job finishes.
      if (active.length >= concurrent) next = Math.max(next, active[active.length - concurrent] ?? t);
      const inWindow = starts.filter((s) => s > t - windowMs);
      if (inWindow.length >= rpm) next = Math.max(next, (inWindow[inWindow.length - rpm] ?? t) + windowMs);
      if (next === t) break;
      t = next;
    }
    starts.push(t);
    finishes.push(t + d);
  }
  return finishes.length === 0 ? 0 : Math.max(...finishes);
}

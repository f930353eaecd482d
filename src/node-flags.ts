/**
 * The flags node runs the bot with: `npm start`, the Docker image's CMD, every shard of `npm run start:shards` and
 * the bench. A test checks that package.json and the Dockerfile say the same.
 *
 * - `--max-semi-space-size=4` (MB): V8's young generation (where new objects are made) may otherwise grow to
 *   2 × 16 MB under load. Capped at 4 MB, the 500-job bench's peak RSS went from 225 to 152 MB and the bot used less
 *   CPU (20.8 s against 24.1 s): a small young generation stays in the CPU's caches.
 * - `--heap-growing-percent=50`: V8 lets the old generation grow to up to ~4× what was live after the last full
 *   collection before the next one; most of what it then holds is garbage (the bot's live heap is ~40–55 MB under a
 *   burst, its old generation was 130 MB and more). 1.5× keeps it near the live size at the cost of more full
 *   collections — no ceiling, unlike `--max-old-space-size`, so a bot that does need more memory still gets it.
 *   With both: the burst's peak RSS 183 MB (331 with the first alone), the 500-job run's 132 MB.
 * See docs/performance.md, Memory.
 */
export const BOT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=50'];

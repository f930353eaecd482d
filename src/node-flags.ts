/**
 * The flags node runs the bot with: `npm start`, the Docker image's CMD, every shard of `npm run start:shards` and
 * the bench. A test checks that package.json and the Dockerfile say the same.
 *
 * `--max-semi-space-size=4` (MB): V8's young generation (where new objects are made) may otherwise grow to 2 × 16 MB
 * under load, and what it promotes leaves the old generation full of garbage until a full collection. Capped at 4 MB,
 * the 500-job bench's peak RSS went from 225 to 152 MB and the bot used less CPU (20.8 s against 24.1 s): a small
 * young generation stays in the CPU's caches. See README → Performance.
 */
export const BOT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

// Identifiers shaped like Discord's: snowflakes, interaction tokens, session ids.
import { createHash, randomBytes } from 'node:crypto';

const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * Monotonic snowflake source. Real snowflakes carry a millisecond timestamp in the high bits, and
 * @discordjs/rest only recognises 17–19 digit ids as major parameters, so ours do too (19 digits today).
 */
export class SnowflakeGenerator {
  #lastMs = 0n;
  #increment = 0n;

  next(at: number = Date.now()): string {
    let ms = BigInt(at) - DISCORD_EPOCH;
    if (ms < this.#lastMs) ms = this.#lastMs;
    if (ms === this.#lastMs) {
      this.#increment += 1n;
      if (this.#increment > 0xfffn) {
        // 4096 ids in one millisecond: borrow the next millisecond rather than repeat an id.
        ms += 1n;
        this.#increment = 0n;
      }
    } else {
      this.#increment = 0n;
    }
    this.#lastMs = ms;
    // worker 1, process 1 — arbitrary but fixed, like a single Discord API node.
    return ((ms << 22n) | (1n << 17n) | (1n << 12n) | this.#increment).toString();
  }
}

/** The creation time encoded in a snowflake, in Unix milliseconds. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

const TOKEN_RANDOM_BYTES = 96;
/** Random bytes for the next tokens, drawn in one call per 256 tokens: one call each cost the fake ~20 µs a token in a burst. */
let tokenPool = Buffer.alloc(0);
let tokenPoolAt = 0;

/** An interaction token: opaque, URL-safe, long — the same alphabet Discord uses. */
export function interactionToken(interactionId: string): string {
  if (tokenPoolAt + TOKEN_RANDOM_BYTES > tokenPool.length) {
    tokenPool = randomBytes(TOKEN_RANDOM_BYTES * 256);
    tokenPoolAt = 0;
  }
  const random = tokenPool.toString('base64url', tokenPoolAt, (tokenPoolAt += TOKEN_RANDOM_BYTES));
  return `${Buffer.from(`interaction:${interactionId}:`).toString('base64url')}${random}`;
}

export function sessionId(): string {
  return randomBytes(16).toString('hex');
}

/** A short stable hash, used for rate-limit bucket ids. */
export function shortHash(input: string): string {
  return createHash('sha1').update(input).digest('hex').slice(0, 16);
}

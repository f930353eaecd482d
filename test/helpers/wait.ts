/**
 * Polls `cond` until it gives something other than undefined or false and returns that; throws naming `what` after
 * `timeoutMs`. For tests without a fake Discord to wait on (whose `waitFor` does the same).
 */
export async function waitUntil<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

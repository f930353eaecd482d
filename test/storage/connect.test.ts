// Connecting to storage at start: a Redis that does not answer (the client retries for ever) stops the start with a
// message naming the host, never the password in STORAGE_URL, instead of a silent wait. That a StartupError ends the
// process with exit code 78 and its message on stderr is test/e2e/operations.test.ts's.
import { describe, expect, it } from 'vitest';
import { connectStorage, StartupError } from '../../src/startup.js';
import type { Storage } from '../../src/storage/index.js';
import { capturingLogger } from '../helpers/logs.js';
import { rejectionOf } from '../helpers/rejection.js';

describe('connecting to storage at start', () => {
  it('gives up on a Redis that does not answer with a message naming the host, without its password', async () => {
    const { logger } = capturingLogger();
    let opened = '';
    const err = await rejectionOf(
      connectStorage('redis://:s3cret-pass@10.0.0.7:6390', logger, { busyTimeoutMs: 1000, namespace: 'luma-bot' }, {
        timeoutMs: 50,
        open: (url) => {
          opened = url;
          return new Promise<Storage>(() => undefined); // what the Redis client does while nothing answers
        },
      }),
    );
    expect(opened).toBe('redis://:s3cret-pass@10.0.0.7:6390');
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(/^storage \(Redis at 10\.0\.0\.7:6390\) did not answer within 0\.05 s\. Check that Redis is running/);
    expect((err as Error).message).not.toContain('s3cret-pass');
  });
});

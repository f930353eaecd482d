import type { Dispatcher } from 'undici';

function noop(): void {}

/**
 * undici only acts on an abort once the socket is connected, so a hung connect would outlive our timeout.
 * This settles as soon as the signal fires, and drops (destroys the body of) a response that arrives later.
 */
export function responseUntilAborted(
  promise: Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (res) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) res.body.on('error', noop).destroy();
        else resolve(res);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(err);
      },
    );
  });
}

// `node dist/src/healthcheck.js`: the container's HEALTHCHECK (slim images have no curl). Asks this container's
// bot for /healthz at HTTP_HOST:HTTP_PORT and exits 0 on 200, 1 otherwise, printing the bot's reasons so that
// `docker inspect` shows why.
import { loadConfigOrExit } from './config.js';

const TIMEOUT_MS = 5000;

async function main(): Promise<number> {
  const config = await loadConfigOrExit();
  if (config.httpPort === undefined || config.httpPort === 0) {
    process.stderr.write('HTTP_PORT is not set (or 0): the bot serves no /healthz to check. Set HTTP_PORT, e.g. 9464.\n');
    return 1;
  }
  // A bot listening on every address is reachable on loopback from inside its own container.
  const host = config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost === '::' ? '::1' : config.httpHost;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.httpPort}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await res.text();
    process.stdout.write(`${res.status} ${body}`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`no answer from ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`healthcheck crashed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

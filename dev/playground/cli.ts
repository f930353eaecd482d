// `npm run playground [-- --port 5173 --data DIR]`: a local Discord-like page driving the real bot against the
// fake Discord and (unless LUMA_AGENTS_API_KEY is set in the environment) the fake Luma. No accounts, no `.env`.
// Ctrl-C stops everything; state lives in a temp SQLite file unless --data names a folder to keep it in.
import { parseArgs } from 'node:util';
import { PortProblem, startPlayground, type Playground } from './server.js';

const DEFAULT_PORT = 5173;
/** Ctrl-C gives the bot, the fakes and the page this long to stop; then the process exits anyway. */
const STOP_WITHIN_MS = 15_000;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`npm run playground [-- --port N] [-- --data DIR]

  --port N    serve the page on 127.0.0.1:N (default ${DEFAULT_PORT}, or the next free port when that one is taken)
  --data DIR  keep the bot's SQLite file in DIR across runs (default: a temp folder, removed on exit)

  LUMA_AGENTS_API_KEY in the environment makes the bot use the real Luma API (and LUMA_BASE_URL, if set).`);
  process.exit(0);
}

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  console.error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const lumaApiKey = process.env.LUMA_AGENTS_API_KEY?.trim();
const lumaBaseUrl = process.env.LUMA_BASE_URL?.trim();

// Ctrl-C reaches every process of the terminal's group at once — this one, npm and tsx (which pass it on again) and
// the bot — so a second and third SIGINT arrive while the first is being handled: they must not cut the clean-up
// short. A signal during start-up aborts the start, which cleans up after itself.
const aborted = new AbortController();
let running: Playground | undefined;
const stop = (): void => {
  if (aborted.signal.aborted) return;
  aborted.abort();
  console.log('\n  stopping…');
  setTimeout(() => {
    console.error(`  the playground did not stop within ${STOP_WITHIN_MS / 1000} s; exiting anyway`);
    process.exit(1);
  }, STOP_WITHIN_MS).unref();
  if (running) void shutdown(running);
};
const shutdown = (playground: Playground): Promise<never> =>
  playground.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);

console.log(lumaApiKey ? 'Playground: fake Discord + the REAL Luma API (LUMA_AGENTS_API_KEY is set; images cost credits)' : 'Playground: fake Discord + fake Luma (no accounts, nothing leaves this machine)');
try {
  running = await startPlayground({
    port: port ?? DEFAULT_PORT,
    portFallback: port === undefined,
    ...(values.data === undefined ? {} : { dataDir: values.data }),
    ...(lumaApiKey ? { lumaApiKey } : {}),
    ...(lumaApiKey && lumaBaseUrl ? { lumaBaseUrl } : {}),
    log: (line: string) => console.log(`  ${line}`),
    signal: aborted.signal,
  });
} catch (err) {
  if (aborted.signal.aborted) process.exit(130);
  const problem = err instanceof PortProblem ? err.message : `The playground could not start: ${err instanceof Error ? err.message : String(err)}`;
  console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`\n  Open ${running.url}\n`);
if (values.data !== undefined) console.log(`  State is kept in ${running.dataDir}`);
console.log('  Ctrl-C stops the bot, the fakes and the page.');

// `npm run playground [-- --port 5173 --data DIR]`: a local Discord-like page driving the real bot against the
// fake Discord and (unless LUMA_AGENTS_API_KEY is set in the environment) the fake Luma. No accounts, no `.env`.
// Ctrl-C stops everything; state lives in a temp SQLite file unless --data names a folder to keep it in.
import { parseArgs } from 'node:util';
import { startPlayground } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`npm run playground [-- --port N] [-- --data DIR]

  --port N    serve the page on 127.0.0.1:N (default 5173; a free port when that one is taken)
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
const options = {
  ...(values.data === undefined ? {} : { dataDir: values.data }),
  ...(lumaApiKey ? { lumaApiKey } : {}),
  ...(lumaApiKey && lumaBaseUrl ? { lumaBaseUrl } : {}),
  log: (line: string) => console.log(`  ${line}`),
};

async function start() {
  try {
    return await startPlayground({ ...options, port: port ?? 5173 });
  } catch (err) {
    // The default port is busy (another playground?): take any free one instead.
    if (port === undefined && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') return startPlayground({ ...options, port: 0 });
    throw err;
  }
}

// Ctrl-C may come while the bot is still starting: stop as soon as there is something to stop.
let stopping = false;
const started: { playground?: Awaited<ReturnType<typeof start>> } = {};
const stop = (): void => {
  if (stopping && !started.playground) return;
  if (stopping) process.exit(130);
  stopping = true;
  console.log('\n  stopping…');
  if (started.playground) void shutdown(started.playground);
};
const shutdown = (running: Awaited<ReturnType<typeof start>>): Promise<never> =>
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

console.log(lumaApiKey ? 'Playground: fake Discord + the REAL Luma API (LUMA_AGENTS_API_KEY is set; images cost credits)' : 'Playground: fake Discord + fake Luma (no accounts, nothing leaves this machine)');
const playground = await start().catch((err: unknown) => {
  console.error(`The playground could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
started.playground = playground;
if (stopping) await shutdown(playground);
console.log(`\n  Open ${playground.url}\n`);
if (values.data !== undefined) console.log(`  State is kept in ${playground.dataDir}`);
console.log('  Ctrl-C stops the bot, the fakes and the page.');

// `npm run fake:luma [-- --port 8787 --queued-ms 2000 --processing-ms 8000 --plan 30/10]` (or --rpm 30 --concurrent 10)
// Runs the fake Luma API locally so the bot can be tried without spending credits. Ctrl-C stops it.
import { parseArgs } from 'node:util';

import { startFakeLuma } from './server.js';

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'queued-ms': { type: 'string' },
    'processing-ms': { type: 'string' },
    rpm: { type: 'string' },
    concurrent: { type: 'string' },
    plan: { type: 'string' },
    key: { type: 'string' },
  },
});

// --plan RPM/CONCURRENT: Luma's two account limits in one flag, as the bench takes them.
const [planRpm, planConcurrent] = values.plan === undefined ? [] : values.plan.split('/');
if (values.plan !== undefined && (planRpm === undefined || planConcurrent === undefined)) {
  console.error(`--plan must be RPM/CONCURRENT, e.g. 30/10, got ${JSON.stringify(values.plan)}`);
  process.exit(2);
}
const rpm = intOption(values.rpm ?? planRpm, 'rpm');
const concurrent = intOption(values.concurrent ?? planConcurrent, 'concurrent');
const fake = await startFakeLuma({
  port: intOption(values.port ?? process.env.PORT, 'port') ?? 8787,
  // Real-ish timing so progress messages can be watched; Luma itself takes 30-60 s.
  queuedMs: intOption(values['queued-ms'], 'queued-ms') ?? 2000,
  processingMs: intOption(values['processing-ms'], 'processing-ms') ?? 8000,
  ...(values.key === undefined ? {} : { apiKey: values.key }),
  ...(rpm === undefined && concurrent === undefined
    ? {}
    : { rateLimit: { ...(rpm === undefined ? {} : { rpm }), ...(concurrent === undefined ? {} : { concurrent }) } }),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});

console.log(`Fake Luma listening on ${fake.url}`);
console.log('Put these in .env to point the bot at it:');
console.log(`  LUMA_AGENTS_API_KEY=${fake.apiKey}`);
console.log(`  LUMA_BASE_URL=${fake.url}`);
console.log('Ctrl-C to stop.');

let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(130);
  stopping = true;
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// Preloaded into the bot by `npm run bench -- --memory-trace` (node --import): every 100 ms, where the bot's
// memory is — V8's heap, memory outside it (Buffers, ArrayBuffers) and the resident set — one JSON line per
// sample appended to the file BENCH_MEMORY_TRACE names. Plain JavaScript: the bench runs the built bot.
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { setInterval } from 'node:timers';

const file = process.env.BENCH_MEMORY_TRACE;
if (file) {
  const started = Date.now();
  const mb = (n) => Math.round(n / 1024 / 1024);
  setInterval(() => {
    const m = process.memoryUsage();
    const sample = { t: Date.now() - started, rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  }, 100).unref();
}

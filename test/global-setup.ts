// Runs once before a `vitest run`: names the run, so the process tests build the bot once for it (helpers/built.ts).
import { randomUUID } from 'node:crypto';

export default function setup(): void {
  process.env.BOT_TEST_RUN = randomUUID();
}

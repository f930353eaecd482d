// Tests src/node-flags.ts: every way of starting the bot in production runs node with the same flags.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BOT_NODE_FLAGS } from '../src/node-flags.js';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8');

describe('the node flags of the bot', () => {
  it('are set at all', () => {
    expect(BOT_NODE_FLAGS).toContain('--max-semi-space-size=4');
  });

  it('are those of npm start', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(['node', ...BOT_NODE_FLAGS, 'dist/src/index.js'].join(' '));
  });

  it("are those of the Docker image's CMD", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(cmd && (JSON.parse(cmd) as string[])).toEqual(['node', ...BOT_NODE_FLAGS, 'dist/src/index.js']);
  });
});

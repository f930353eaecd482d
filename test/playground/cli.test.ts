// `npm run playground` as a newcomer runs it in a terminal: the default port (5173, Vite's too) busy, a --port that
// is busy, and Ctrl-C — which a terminal sends to the whole process group (npm, tsx, the playground, the bot).
// Every process of it must end and its temporary state folder must be gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEFAULT_PORT = 5173;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let temp: string;
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  if (temp) rmSync(temp, { recursive: true, force: true });
});

/** `npm run playground` in a process group of its own (as a terminal starts it), its temp files under `temp`. */
function runPlayground(args: string[] = []): Run {
  temp = mkdtempSync(join(tmpdir(), 'playground-cli-'));
  const { LUMA_AGENTS_API_KEY: _key, LUMA_BASE_URL: _url, ...env } = process.env;
  const child = spawn('npm', ['run', 'playground', ...(args.length ? ['--', ...args] : [])], {
    cwd: ROOT,
    env: { ...env, TMPDIR: temp },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  cleanups.push(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });
  return { child, output: () => output, exited };
}

/** Live processes of a process group (zombies have ended: they only wait to be reaped). */
function liveMembers(group: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === group && state !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** The playground's own folders left in its temp folder (tsx keeps a cache there too, which is not ours). */
const leftovers = (): string[] => readdirSync(temp).filter((name) => name.startsWith('luma-playground-'));

/** Occupies a port on 127.0.0.1 (when something else holds it already, it is just as busy). */
async function occupy(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((done, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? done(undefined) : fail(err)));
    server.listen(port, '127.0.0.1', () => {
      cleanups.push(() => server.close());
      done(server);
    });
  });
}

describe('npm run playground in a terminal', () => {
  it('takes another port when 5173 is busy and says so; Ctrl-C to the process group ends every process and removes its state', async () => {
    await occupy(DEFAULT_PORT);
    const run = runPlayground();
    const group = run.child.pid ?? 0;
    await waitUntil(() => /Open http:\/\/127\.0\.0\.1:\d+\//.test(run.output()) || run.child.exitCode !== null, 'the playground to print its URL', 90_000);
    const port = Number(/Open http:\/\/127\.0\.0\.1:(\d+)\//.exec(run.output())?.[1]);
    expect(port, run.output()).not.toBe(DEFAULT_PORT);
    expect(run.output()).toContain(`port ${DEFAULT_PORT} is busy, using ${port}`);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Playground');
    expect(leftovers().length).toBeGreaterThan(0); // its state folder exists while it runs

    process.kill(-group, 'SIGINT');
    await run.exited;
    await waitUntil(() => liveMembers(group).length === 0, 'every process of the group to end', 20_000);
    expect(run.output()).toContain('stopping…');
    expect(run.output()).not.toContain('exiting anyway');
    expect(leftovers()).toEqual([]);
  }, 150_000);

  it('refuses a busy --port with a message that says what to do, before starting anything', async () => {
    const held = await occupy(0);
    const port = (held?.address() as { port: number }).port;
    const run = runPlayground(['--port', String(port)]);
    const exit = await run.exited;
    expect(exit.code, run.output()).toBe(1);
    expect(run.output()).toContain(`Port ${port} is busy`);
    expect(run.output()).toContain('--port N');
    expect(run.output()).not.toContain('registering commands');
    expect(run.output()).not.toMatch(/EADDRINUSE|at .*\(node:/);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});

// The bot compiled once per test run, for the tests that start it as a child process: `node` on the compiled
// entry starts in about half the time tsx takes to load the sources, and it is what `npm start` runs. The build is
// TypeScript's own (tsconfig.build.json), incremental, into node_modules/.cache; test files in several workers share
// it under a lock, and it is made once per `vitest run` (test/global-setup.ts names the run).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'node_modules/.cache/luma-bot-test-dist');
const LOCK = `${OUT}.lock`;
const STAMP = join(OUT, '.run');

let built: Promise<void> | undefined;

/** The compiled file of `entry` (a path under the repository, e.g. 'src/index.ts'), built for this run if needed. */
export async function builtEntry(entry = 'src/index.ts'): Promise<string> {
  built ??= buildOnce();
  await built;
  const file = join(OUT, entry.replace(/\.ts$/, '.js'));
  if (!existsSync(file)) throw new Error(`the compiled bot has no ${entry}: see the TypeScript errors above`);
  return file;
}

async function buildOnce(): Promise<void> {
  const run = process.env.BOT_TEST_RUN ?? `pid-${process.pid}`;
  await withLock(async () => {
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === run) return;
    // A checkout whose node_modules is a hard-linked copy of another's (`cp -al`) shares these files' inodes: tsc
    // would write through them into the other checkout's build (and its incremental state), and each would rebuild
    // everything after the other. Start over once with files of this checkout's own.
    if ((statSync(join(OUT, '.tsbuildinfo'), { throwIfNoEntry: false })?.nlink ?? 1) > 1) rmSync(OUT, { recursive: true, force: true });
    await tsc();
    writeFileSync(STAMP, run);
  });
}

function tsc(): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT, '--incremental', '--tsBuildInfoFile', join(OUT, '.tsbuildinfo')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    // Type errors are the type-check's business (npm run typecheck); the JavaScript is emitted all the same.
    child.on('exit', (code) => (code === 0 || existsSync(join(OUT, 'src/index.js')) ? done() : fail(new Error(`building the bot for the process tests failed:\n${out}`))));
  });
}

/** A lock across processes: a directory made atomically; one left by a process that died is taken after 2 minutes. */
async function withLock(fn: () => Promise<void>): Promise<void> {
  mkdirSync(join(OUT, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const since = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 120_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

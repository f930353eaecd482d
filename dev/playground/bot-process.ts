// Runs one of the project's entry points (src/index.ts, src/deploy-commands.ts) as a child process the way
// production runs it — `node --import tsx <entry>` — with an explicit environment and its working directory in
// the playground's data folder, so no `.env` of a real deployment is read by accident.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface BotLogLine {
  level: number;
  msg: string;
  time?: number;
  [key: string]: unknown;
}

export interface EntryProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** stderr and stdout lines that were not JSON (start-up refusals land here). */
  stray(): string;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `entry` (relative to the repository root); `onLog` gets every JSON log line it writes. */
/** Children still running: killed if this process exits without stopping them (a crash, process.exit). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startEntry(entry: string, opts: { env: Record<string, string>; cwd: string; onLog?: (line: BotLogLine) => void }): EntryProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, entry)], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? opts.cwd, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stray = '';
  if (child.stdout) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      if (line.trim() === '') return;
      try {
        opts.onLog?.(JSON.parse(line) as BotLogLine);
      } catch {
        stray += `${line}\n`;
      }
    });
  }
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stray += chunk;
  });
  const exited = new Promise<number | string>((done) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      done(code ?? signal ?? 'unknown');
    });
  });
  return {
    child,
    exited,
    stray: () => stray,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

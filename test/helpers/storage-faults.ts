// Real storage faults for tests: a SQLite file locked by another process, and a private Redis that can be made to
// refuse writes or be stopped. Never the shared Redis on 6379: its data and configuration belong to others.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@keyv/redis';
import { freePort } from './ports.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Resolves with the first line a child prints on stdout that matches, or rejects when it exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((done, fail) => {
    let out = '';
    let err = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        child.stdout?.off('data', onData);
        done();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => fail(new Error(`${what} exited (${code}) before it was ready:\n${out}${err}`)));
  });
}

export interface SqliteLock {
  /** Ends the other process's transaction (and the process): the file is free again. */
  release(): Promise<void>;
}

/**
 * Another process opens the SQLite file and holds `BEGIN EXCLUSIVE` on it until release(): nobody else can read
 * or write it meanwhile, as when a backup tool or a second bot holds the file longer than the busy timeout.
 */
export async function lockSqliteFile(file: string): Promise<SqliteLock> {
  const script = `
    const sqlite3 = require('sqlite3');
    const db = new sqlite3.Database(process.argv[1]);
    db.exec('CREATE TABLE IF NOT EXISTS keyv(key VARCHAR(255) PRIMARY KEY, value TEXT); BEGIN EXCLUSIVE', (err) => {
      if (err) { console.error(err); process.exit(1); }
      console.log('locked');
    });
    const release = () => db.exec('ROLLBACK', () => db.close(() => process.exit(0)));
    process.stdin.on('data', release);
    process.stdin.on('end', release); // the test process is gone: never hold the file for ever
  `;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  await waitForLine(child, /locked/, 'the SQLite lock holder');
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.stdin?.write('release\n');
      });
      return released;
    },
  };
}

export interface PrivateRedis {
  readonly url: string;
  /** Makes the server refuse every write (`min-replicas-to-write 1` with no replica): NOREPLICAS errors. */
  refuseWrites(on: boolean): Promise<void>;
  /** Stops the server (SIGKILL): connections drop, reconnects are refused. */
  stop(): Promise<void>;
}

/** A redis-server of this test's own on a free loopback port, without persistence; stop() it in afterEach. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-private-'));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForLine(child, /Ready to accept connections/, 'redis-server');
      break;
    } catch (err) {
      if (attempt >= 4) throw err; // the port was taken between freePort() and the server's bind: try another
    }
  }
  const running = child;
  const killOnExit = () => running.kill('SIGKILL');
  process.once('exit', killOnExit); // no redis-server outlives the test process
  const url = `redis://127.0.0.1:${port}`;
  /** CONFIG SET on this private server only (never on the shared one). */
  const configSet = async (name: string, value: string): Promise<void> => {
    const c = createClient({ url });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.configSet(name, value);
    } finally {
      c.destroy();
    }
  };
  return {
    url,
    refuseWrites: async (on) => {
      await configSet('min-replicas-to-write', on ? '1' : '0');
    },
    stop: async () => {
      process.off('exit', killOnExit);
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise<void>((done) => running.once('exit', () => done()));
        running.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs SQL on the file through a connection of its own (the test's, not the bot's). */
export async function sqliteExec(file: string, sql: string): Promise<void> {
  const { default: sqlite3 } = await import('sqlite3');
  await new Promise<void>((done, fail) => {
    const db = new sqlite3.Database(file, (openErr) => {
      if (openErr) return fail(openErr);
      db.exec(sql, (err) => db.close(() => (err ? fail(err) : done())));
    });
  });
}

/** Rows of a query on the file through a connection of its own. */
export async function sqliteAll<T = Record<string, unknown>>(file: string, sql: string, ...params: unknown[]): Promise<T[]> {
  const { default: sqlite3 } = await import('sqlite3');
  return new Promise<T[]>((done, fail) => {
    const db = new sqlite3.Database(file, (openErr) => {
      if (openErr) return fail(openErr);
      db.all(sql, params, (err, rows) => db.close(() => (err ? fail(err) : done(rows as T[]))));
    });
  });
}

/** The keys of every row of the bot's SQLite file, in order. */
export async function sqliteKeys(file: string): Promise<string[]> {
  return (await sqliteAll<{ key: string }>(file, 'SELECT key FROM keyv ORDER BY key')).map((r) => r.key);
}

/** Rows already past their expiry (`bot:<name>`), written as keyv writes them: nobody reads them, so keyv never drops them. */
export function insertExpiredRows(file: string, names: string[]): Promise<void> {
  return sqliteExec(file, `INSERT INTO keyv(key, value) VALUES ${names.map((n) => `('bot:${n}', '{"value":"old","expires":${Date.now() - 60_000}}')`).join(',')}`);
}

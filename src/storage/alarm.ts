import type { Logger } from '../logger.js';

/** One `OPERATOR:` line per storage outage, however many jobs and commands it hits; a successful write ends it. */
export class StorageAlarm {
  private raised = false;
  constructor(private readonly log: Logger) {}

  raise(err: unknown, context: Record<string, unknown> = {}): void {
    if (this.raised) return;
    this.raised = true;
    this.log.error(
      { alert: true, err, ...context },
      'OPERATOR: storage is failing (SQLite file locked or disk full, or Redis unreachable or refusing writes): new commands are refused with "try again shortly" and running jobs wait; check STORAGE_URL\'s database',
    );
  }

  /**
   * A stored record that could not be read was moved aside (see quarantine.ts): one line per record, with where its
   * text is kept and what the bot does instead (`instead`).
   */
  movedAside(bad: { key: string; quarantineKey: string; problem: string; instead: string }): void {
    this.log.error(
      { alert: true, key: bad.key, quarantineKey: bad.quarantineKey, problem: bad.problem },
      `OPERATOR: a stored record could not be read and was moved aside (${bad.key} → ${bad.quarantineKey}: ${bad.problem}); ${bad.instead}`,
    );
  }

  clear(): void {
    if (!this.raised) return;
    this.raised = false;
    this.log.info('storage accepts writes again');
  }
}

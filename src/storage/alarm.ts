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

  clear(): void {
    if (!this.raised) return;
    this.raised = false;
    this.log.info('storage accepts writes again');
  }
}

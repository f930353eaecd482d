// Log lines kept in memory for assertions: what a test's code logged, parsed, plus the raw text (to check that no
// secret ever appears in it).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A stream for a pino logger that keeps every line it is given. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  raw = '';
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      const text = chunk.toString();
      this.raw += text;
      for (const l of text.split('\n')) {
        if (l.trim() === '') continue;
        const line = JSON.parse(l) as LogLine;
        this.lines.push(line);
        this.onLine?.(line);
      }
      cb();
    },
  });
  constructor(private readonly onLine?: (line: LogLine) => void) {}
  find(pred: (l: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(pred);
  }
  filter(pred: (l: LogLine) => boolean): LogLine[] {
    return this.lines.filter(pred);
  }
}

/**
 * A plain pino logger at debug level into a LogCapture: exactly what the code under test logged, without the
 * bot's redaction (the bot's own logger is tested with a LogCapture of its own). `onLine` sees each line as it comes.
 */
export function capturingLogger(onLine?: (line: LogLine) => void): { logger: Logger; lines: LogLine[]; logs: LogCapture } {
  const logs = new LogCapture(onLine);
  return { logger: pino({ level: 'debug' }, logs.stream), lines: logs.lines, logs };
}

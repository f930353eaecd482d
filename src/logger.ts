import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Interaction tokens are bearer secrets for
 * 15 minutes (anyone holding one can post as the bot in that channel), so they count as secrets too.
 */
const REDACT = [
  'token',
  'interactionToken',
  'discordToken',
  'lumaApiKey',
  'apiKey',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.interactionToken',
  '*.discordToken',
  '*.lumaApiKey',
  '*.apiKey',
  '*.authorization',
  '*.headers.authorization',
  'job.discord.interactionToken',
];

/** A string mask for error messages that might quote a URL carrying a token (webhook routes). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(\/(?:webhooks|interactions)\/\d+\/)[A-Za-z0-9._-]{20,}/g, '$1[token]')
    .replace(/luma-api-[A-Za-z0-9_-]+/g, 'luma-api-[redacted]')
    .replace(/(Bot|Bearer)\s+[A-Za-z0-9._-]{10,}/g, '$1 [redacted]');
}

export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { app: 'luma-discord-bot' },
    serializers: {
      err: (err: unknown) => {
        const s = pino.stdSerializers.err(err as Error);
        if (typeof s.message === 'string') s.message = scrubSecrets(s.message);
        if (typeof s.stack === 'string') s.stack = scrubSecrets(s.stack);
        return s;
      },
    },
  };
  if (destination) return pino(options, destination);
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } });
  }
  // Written asynchronously: a synchronous write to stdout blocks the whole bot whenever the reader of the pipe (a
  // container runtime, a log shipper) falls behind — in a burst of commands that is seconds in which no
  // interaction gets its 3 s acknowledgement. pino flushes what is buffered when the process exits.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

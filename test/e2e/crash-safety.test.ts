// One bad interaction never kills the process: the real bot process against the fakes, plus the process-level
// last-resort handlers as a rule.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { installCrashHandlers } from '../../src/crash-handlers.js';
import { LogCapture } from '../helpers/logs.js';
import { delivered, imagine, killLeftoverBots, newMember, startBotProcess, type ProcessHarness } from '../helpers/process.js';

describe('one bad interaction never kills the process', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  it('keeps serving after a retired command whose reply Discord refuses with 10062', async () => {
    h = await startBotProcess();
    // Discord dropped the interaction before the answer arrived (a slow network, a stale client): every callback
    // of this interaction answers 404 Unknown interaction.
    const unknown = { status: 404, body: { message: 'Unknown interaction', code: 10062 } };
    h.discord.fault({ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/ }, unknown);
    const retired = await h.discord.slashCommand({ name: 'retired-command', user: newMember() });
    await h.discord.waitFor(() => h?.discord.pendingFaults === 0, 15_000, 'the reply to the retired command to be refused');
    // The interaction is gone: the bot says so once in its log and sends nothing more through it.
    await h.bot.waitForLog((l) => l.msg === 'interaction expired before the bot could acknowledge it', 15_000, 'the expired interaction being logged');
    expect(h.discord.callbacks(retired.id)).toHaveLength(0);

    const member = newMember();
    const i = await imagine(h.discord, member, 'still alive: a lighthouse');
    expect(await delivered(h.discord, i, 'still alive: a lighthouse', member)).toHaveLength(1);
    expect(h.bot.running).toBe(true);
  });
});

describe('process-level handlers', () => {
  const setup = () => {
    const logs = new LogCapture();
    const proc = new EventEmitter();
    const shutdowns: Array<[string, number]> = [];
    installCrashHandlers(proc, {
      logger: createLogger({ logLevel: 'info', logFormat: 'json' }, logs.stream),
      shutdown: (reason, code) => shutdowns.push([reason, code]),
    });
    return { logs, proc, shutdowns };
  };

  it('logs an unhandled rejection with a reference and keeps running', async () => {
    const { logs, proc, shutdowns } = setup();
    proc.emit('unhandledRejection', new Error('a stray rejection'), Promise.resolve());
    await expect.poll(() => logs.lines.length).toBe(1);
    const line = logs.lines[0]!;
    expect(line.level).toBe(50);
    expect(line.ref).toMatch(/^[0-9A-F]{8}$/);
    expect((line.err as { message: string }).message).toBe('a stray rejection');
    expect(shutdowns).toEqual([]);
  });

  it('logs an uncaught exception with a reference and shuts down through the normal path with exit code 1', async () => {
    const { logs, proc, shutdowns } = setup();
    proc.emit('uncaughtException', new Error('a broken invariant'), 'uncaughtException');
    await expect.poll(() => logs.lines.length).toBe(1);
    expect(logs.lines[0]!.level).toBe(60);
    expect(logs.lines[0]!.ref).toMatch(/^[0-9A-F]{8}$/);
    expect(shutdowns).toEqual([['uncaughtException', 1]]);
  });
});

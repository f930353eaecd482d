// The check that GIF inputs are still images: bounded bot-wide, and reading only as far as the second frame.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { tinyGif } from '../../dev/fakes/png.js';
import { StillImageCheck } from '../../src/discord/still-images.js';
import { UserFacingError } from '../../src/errors.js';
import { GifFrameScanner } from '../../src/images/sniff.js';
import type { JobInput } from '../../src/jobs/types.js';
import { startScriptedServer } from '../helpers/http-server.js';

interface Cdn {
  origin: string;
  /** Requests the server holds open until the test answers them, in arrival order. */
  held: ServerResponse[];
  /** Bytes written after the GIF's frames. */
  sent: number;
  readonly closedEarly: number;
  close(): Promise<void>;
}

const closers: Array<() => Promise<void>> = [];
const dispatchers = new Map<Cdn, Agent>();
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function startCdn(answer: (req: IncomingMessage, res: ServerResponse, cdn: Cdn) => void): Promise<Cdn> {
  const server = await startScriptedServer((req, res) => answer(req, res, cdn));
  const agent = new Agent();
  const cdn: Cdn = {
    origin: server.origin,
    held: [],
    sent: 0,
    get closedEarly() {
      return server.closedEarly();
    },
    close: async () => {
      await server.close();
      await agent.close();
    },
  };
  closers.push(cdn.close);
  dispatchers.set(cdn, agent);
  return cdn;
}

const gifInput = (cdn: Cdn, name: string): JobInput => ({
  role: 'ref',
  input: { url: `${cdn.origin}/attachments/1/2/${name}` },
  discordUrl: `${cdn.origin}/attachments/1/2/${name}`,
  filename: name,
  contentType: 'image/gif',
});

async function refusal(p: Promise<unknown>): Promise<UserFacingError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UserFacingError);
    return err as UserFacingError;
  }
  throw new Error('expected a refusal');
}

describe('StillImageCheck', () => {
  it('stops reading an animated GIF at its second frame, whatever follows', async () => {
    const twoFrames = tinyGif(2).subarray(0, -1); // no trailer: the file goes on
    const cdn = await startCdn((_req, res, c) => {
      res.writeHead(200, { 'content-type': 'image/gif' });
      res.write(twoFrames);
      // Then 45 MB more (under Luma's 50 MB cap), written as fast as the reader takes it.
      const junk = Buffer.alloc(1024 * 1024, 0x2c);
      let left = 45;
      const more = () => {
        while (left > 0) {
          left--;
          c.sent += junk.length;
          if (!res.write(junk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const check = new StillImageCheck({ origins: [cdn.origin], dispatcher: dispatchers.get(cdn)! });
    const err = await refusal(check.refuseAnimated([gifInput(cdn, 'spin.gif')]));
    expect(err.options.code).toBe('animated_gif');
    expect(err.message).toContain('spin.gif');
    await expect.poll(() => cdn.closedEarly).toBe(1);
    expect(cdn.sent).toBeLessThan(45 * 1024 * 1024);
  });

  it('passes a still GIF, read to its end', async () => {
    const cdn = await startCdn((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/gif' });
      res.end(tinyGif(1));
    });
    const check = new StillImageCheck({ origins: [cdn.origin], dispatcher: dispatchers.get(cdn)! });
    await check.refuseAnimated([gifInput(cdn, 'still.gif')]);
  });

  it('runs at most `concurrency` checks at once across all callers, and refuses beyond the waiting room', async () => {
    const cdn = await startCdn((_req, res, c) => {
      c.held.push(res);
    });
    const check = new StillImageCheck({ origins: [cdn.origin], dispatcher: dispatchers.get(cdn)!, concurrency: 2, maxWaiting: 4 });
    const commands = Array.from({ length: 6 }, (_, i) => check.refuseAnimated([gifInput(cdn, `g${i}.gif`)]));
    // Two at the CDN, four waiting their turn in the bot — none of those four reached the CDN.
    await expect.poll(() => cdn.held.length).toBe(2);
    await expect.poll(() => check.queued).toBe(4);
    expect(cdn.held).toHaveLength(2);

    const busy = await refusal(check.refuseAnimated([gifInput(cdn, 'one-too-many.gif')]));
    expect(busy.options.code).toBe('busy');

    // Each answer lets exactly one more through.
    let answered = 0;
    while (answered < 6) {
      await expect.poll(() => cdn.held.length).toBeGreaterThan(answered);
      expect(cdn.held.length - answered).toBeLessThanOrEqual(2);
      const res = cdn.held[answered++]!;
      res.writeHead(200, { 'content-type': 'image/gif' });
      res.end(tinyGif(1));
    }
    await Promise.all(commands);
    expect(check.queued).toBe(0);
  });
});

describe('GifFrameScanner', () => {
  it('gives the same answer fed one byte at a time as fed whole', () => {
    for (const frames of [1, 2, 3]) {
      const bytes = tinyGif(frames);
      const scan = new GifFrameScanner();
      for (const b of bytes) if (scan.push(Buffer.from([b]))) break;
      expect(scan.animated).toBe(frames > 1);
      expect(scan.done).toBe(true);
    }
  });
});

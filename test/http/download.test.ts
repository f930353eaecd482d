// downloadImage against a scripted server (size caps, timeouts, redirects, origins, types, aborts), and the image
// sniffing behind it.
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadError, downloadImage } from '../../src/http/download.js';
import { isAnimatedGif, sniffImageType } from '../../src/images/sniff.js';
import { closeScriptedServers, startScriptedServer, type Script, type ScriptedServer } from '../helpers/http-server.js';
import { rejectionOf } from '../helpers/rejection.js';

const PNG_BYTES = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 7)]);

afterEach(closeScriptedServers);

/** A scripted server standing in for Discord's CDN; `url` names a signed attachment on it. */
async function startServer(script: Script): Promise<ScriptedServer & { url: string }> {
  const server = await startScriptedServer(script);
  return Object.assign(server, { url: `${server.origin}/attachments/1/2/image.png?ex=abc&hm=secret-signature` });
}

async function downloadError(promise: Promise<unknown>): Promise<DownloadError> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

describe('downloadImage', () => {
  it('returns the bytes and the media type of an image', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png; charset=binary', 'content-length': PNG_BYTES.length });
      res.end(PNG_BYTES);
    });
    const result = await downloadImage(server.url, { maxBytes: 1_000, allowedOrigins: [`${server.origin}/`] });

    expect(result.contentType).toBe('image/png');
    expect(result.bytes.equals(PNG_BYTES)).toBe(true);
  });

  it('returns a body that came in many chunks whole, with and without Content-Length', async () => {
    const big = Buffer.concat([PNG_BYTES, Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))]);
    for (const withLength of [true, false]) {
      const server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png', ...(withLength ? { 'content-length': big.length } : {}) });
        for (let at = 0; at < big.length; at += 10_000) res.write(big.subarray(at, at + 10_000));
        res.end();
      });
      const result = await downloadImage(server.url, { maxBytes: 1_000_000 });
      expect(result.bytes.equals(big)).toBe(true);
    }
  });

  it('accepts a body exactly at the cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG_BYTES);
    });
    const result = await downloadImage(server.url, { maxBytes: PNG_BYTES.length });
    expect(result.bytes.length).toBe(PNG_BYTES.length);
  });

  it('refuses a body whose Content-Length is over the cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10_000 });
      res.write(Buffer.alloc(100)); // then stall: the cap must not wait for the rest
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 5_000, timeoutMs: 5_000 }));

    expect(err.kind).toBe('too_large');
  });

  it('stops reading a chunked body without Content-Length as soon as it passes the cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      // An endless body: only the streaming cap can end this download before the timeout.
      const timer = setInterval(() => res.write(Buffer.alloc(1_024, 1)), 5);
      res.on('close', () => clearInterval(timer));
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 8_000, timeoutMs: 5_000 }));

    expect(err.kind).toBe('too_large');
    await expect.poll(() => server.closedEarly()).toBe(1);
  });

  it('makes no request to an origin that is not allowed', async () => {
    const server = await startServer((_req, res) => res.end());
    const err = await downloadError(
      downloadImage(server.url, { maxBytes: 1_000, allowedOrigins: ['https://cdn.discordapp.com', 'https://media.discordapp.net'] }),
    );

    expect(err.kind).toBe('forbidden_origin');
    expect(server.seen.length).toBe(0);
  });

  it('treats a different port as a different origin', async () => {
    const server = await startServer((_req, res) => res.end());
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000, allowedOrigins: ['http://127.0.0.1'] }));

    expect(err.kind).toBe('forbidden_origin');
    expect(server.seen.length).toBe(0);
  });

  it('refuses non-http URLs and garbage', async () => {
    expect((await downloadError(downloadImage('file:///etc/passwd', { maxBytes: 1_000 }))).kind).toBe('forbidden_origin');
    expect((await downloadError(downloadImage('not a url', { maxBytes: 1_000 }))).kind).toBe('forbidden_origin');
  });

  it('refuses a response that is not an image', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html></html>');
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000 }));
    expect(err.kind).toBe('not_image');
  });

  it('refuses an image type outside acceptContentTypes', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end('<svg/>');
    });
    const err = await downloadError(
      downloadImage(server.url, { maxBytes: 1_000, acceptContentTypes: ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] }),
    );
    expect(err.kind).toBe('not_image');
  });

  it('does not follow a redirect', async () => {
    const server = await startServer((req, res) => {
      if (req.url?.startsWith('/elsewhere')) {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(PNG_BYTES);
      } else {
        res.writeHead(302, { location: '/elsewhere.png' });
        res.end();
      }
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000 }));

    expect(err.kind).toBe('http');
    expect(err.status).toBe(302);
    expect(server.seen.length).toBe(1);
  });

  it('reports an HTTP error status without the URL signature in the message', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error>Request has expired</Error>');
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000 }));

    expect(err.kind).toBe('http');
    expect(err.status).toBe(403);
    expect(err.message).not.toContain('secret-signature');
  });

  it('times out a server that never answers', async () => {
    const server = await startServer(() => {});
    const started = performance.now();
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000, timeoutMs: 200 }));

    expect(err.kind).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('times out a body that trickles forever, under the cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      const timer = setInterval(() => res.write(Buffer.alloc(1)), 20);
      res.on('close', () => clearInterval(timer));
    });
    const err = await downloadError(downloadImage(server.url, { maxBytes: 1_000_000, timeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
  });

  it('reports a refused connection as a network error', async () => {
    const server = await startServer(() => {});
    const url = server.url;
    await server.close();
    const err = await downloadError(downloadImage(url, { maxBytes: 1_000 }));
    expect(err.kind).toBe('network');
  });

  it('rejects with the abort reason when the caller aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('interaction expired');
    const server = await startServer(() => controller.abort(reason));
    const err = await rejectionOf(downloadImage(server.url, { maxBytes: 1_000, timeoutMs: 10_000, signal: controller.signal }));
    expect(err).toBe(reason);
  });
});

// Hand-built GIFs: header, a logical screen descriptor with a 2-colour global table, then frames.
function gif(frames: number, imageData: number[] = [0x02, 0x02, 0x44, 0x01, 0x00]): Buffer {
  const parts: number[] = [
    ...Buffer.from('GIF89a'),
    0x01, 0x00, 0x01, 0x00, // 1x1
    0x80, 0x00, 0x00, // global colour table of 2 entries
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
  ];
  // NETSCAPE looping extension, as animated GIFs carry.
  if (frames > 1) parts.push(0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0'), 0x03, 0x01, 0x00, 0x00, 0x00);
  for (let i = 0; i < frames; i++) {
    parts.push(0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00); // graphic control extension
    parts.push(0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00); // image descriptor
    parts.push(...imageData); // LZW min code size, then sub-blocks
  }
  parts.push(0x3b);
  return Buffer.from(parts);
}

describe('sniffImageType', () => {
  it('recognises PNG, JPEG, GIF and WebP by their magic bytes', () => {
    expect(sniffImageType(PNG_BYTES)).toBe('image/png');
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]))).toBe('image/jpeg');
    expect(sniffImageType(gif(1))).toBe('image/gif');
    expect(sniffImageType(Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1'))).toBe('image/gif');
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);
    expect(sniffImageType(webp)).toBe('image/webp');
  });

  it('returns undefined for anything else, including truncated input', () => {
    expect(sniffImageType(Buffer.from('<html>'))).toBeUndefined();
    expect(sniffImageType(Buffer.from('RIFF\x24\x00\x00\x00WAVE', 'latin1'))).toBeUndefined();
    expect(sniffImageType(Buffer.from([0x89, 0x50]))).toBeUndefined();
    expect(sniffImageType(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('isAnimatedGif', () => {
  it('says a single-frame GIF is still', () => {
    expect(isAnimatedGif(gif(1))).toBe(false);
  });

  it('says a GIF with several frames is animated', () => {
    expect(isAnimatedGif(gif(2))).toBe(true);
    expect(isAnimatedGif(gif(5))).toBe(true);
  });

  it('is not fooled by marker bytes inside the image data', () => {
    // A sub-block whose bytes spell a graphic control extension and an image descriptor.
    const tricky = [0x02, 0x0c, 0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x2c, 0x00, 0x00];
    expect(isAnimatedGif(gif(1, tricky))).toBe(false);
    expect(isAnimatedGif(gif(2, tricky))).toBe(true);
  });

  it('says non-GIFs and truncated GIFs are not animated', () => {
    expect(isAnimatedGif(PNG_BYTES)).toBe(false);
    expect(isAnimatedGif(gif(1).subarray(0, 20))).toBe(false);
  });
});

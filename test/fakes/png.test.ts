// The test image encoders: CRC-32, PNG scanlines, seeded noise PNGs of predictable size, GIFs with a given number
// of frames, and JPEG and WebP files.
import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { gifFrameCount, sniffImage } from '../../dev/fakes/luma/inputs.js';
import { crc32, encodePng, noisePng, pngSize, solidJpeg, tinyGif, tinyJpeg, tinyWebp } from '../../dev/fakes/png.js';

describe('test image encoders', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('encodes pixels as filter-0 RGB scanlines', () => {
    const png = encodePng(3, 2, (x, y) => [x, y, 7]);
    expect(pngSize(png)).toEqual({ width: 3, height: 2 });
    const idat = png.subarray(41, 41 + png.readUInt32BE(33));
    expect([...inflateSync(idat)]).toEqual([0, 0, 0, 7, 1, 0, 7, 2, 0, 7, 0, 0, 1, 7, 1, 1, 7, 2, 1, 7]);
  });

  it('makes noise PNGs of predictable size, the same for the same seed', () => {
    const a = noisePng(512, 512, 3);
    expect(a.length).toBeGreaterThan(512 * 512 * 3);
    expect(a.length).toBeLessThan(512 * 512 * 3 + 4096);
    expect(a.equals(noisePng(512, 512, 3))).toBe(true);
    expect(a.equals(noisePng(512, 512, 4))).toBe(false);
  });

  it('builds GIFs with the asked number of frames and valid JPEG/WebP files', () => {
    expect(gifFrameCount(tinyGif(1))).toBe(1);
    expect(gifFrameCount(tinyGif(4))).toBe(4);
    expect(sniffImage(tinyGif(2))).toBe('image/gif');
    expect(sniffImage(tinyJpeg())).toBe('image/jpeg');
    expect(sniffImage(solidJpeg(13, 7, [0, 0, 255]))).toBe('image/jpeg');
    expect(sniffImage(tinyWebp())).toBe('image/webp');
    expect(tinyJpeg().subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
  });
});

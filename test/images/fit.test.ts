// The re-encoder behind "compressed to fit Discord's upload limit" (src/images/fit.ts).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fitToLimit } from '../../src/images/fit.js';
import { noisePng, solidPng } from '../../dev/fakes/png.js';

describe('fitToLimit', () => {
  it('returns an image that already fits untouched', async () => {
    const png = solidPng(32, 32, [10, 20, 30]);
    const r = await fitToLimit(png, 'image/png', png.length);
    expect(r).toEqual({ data: png, contentType: 'image/png', compressed: false });
  });

  it('re-encodes an incompressible image to WebP under the limit, keeping its shape', async () => {
    const png = noisePng(600, 400, 11); // ~720 kB of noise
    for (const limit of [400_000, 100_000, 20_000]) {
      const r = await fitToLimit(png, 'image/png', limit);
      expect(r.compressed).toBe(true);
      expect(r.contentType).toBe('image/webp');
      expect(r.data.length).toBeLessThanOrEqual(limit);
      const meta = await sharp(r.data).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.abs((meta.width ?? 0) / (meta.height ?? 1) - 1.5)).toBeLessThan(0.02);
    }
  });

  it('gives up with an error rather than returning something over the limit', async () => {
    await expect(fitToLimit(noisePng(200, 200, 2), 'image/png', 50)).rejects.toThrow(/could not be compressed below 50 bytes/);
  });
});

import { loadSharp } from './sharp.js';

export interface FittedImage {
  data: Buffer;
  contentType: string;
  compressed: boolean;
}

/** Quality of the first re-encode: visually close to the original for Luma's images. */
const FIRST_QUALITY = 85;
/** Quality when downscaling too: the pixels go anyway, so spend the bytes on size rather than on quality. */
const SCALED_QUALITY = 78;
/** Aim a little under the limit: an encoder's output size is only roughly proportional to the pixel count. */
const MARGIN = 0.92;
const MAX_ATTEMPTS = 8;
const MIN_WIDTH = 64;

/**
 * Makes an image fit Discord's per-attachment limit: re-encode as WebP, then downscale. Returns the original bytes
 * untouched when they already fit. Each further attempt is sized from the last one's overshoot (bytes grow with the
 * pixel count) rather than stepping through fixed sizes, so a 2K image takes two or three encodes, not twenty — each
 * one is a few hundred ms of CPU on a small machine. Sharp encodes off the main thread; callers bound how many run.
 * An image that already fits never loads sharp.
 */
export async function fitToLimit(data: Buffer, contentType: string, limitBytes: number): Promise<FittedImage> {
  if (data.length <= limitBytes) return { data, contentType, compressed: false };
  const sharp = await loadSharp();
  // Decoded once; every attempt encodes from the same pixels.
  const { data: pixels, info } = await sharp(data).rotate().raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } } as const;
  const encode = (width: number, quality: number): Promise<Buffer> => {
    let img = sharp(pixels, raw);
    if (width < info.width) img = img.resize({ width });
    return img.webp({ quality, effort: 4 }).toBuffer();
  };

  let out = await encode(info.width, FIRST_QUALITY);
  let width = info.width;
  for (let attempt = 0; out.length > limitBytes && attempt < MAX_ATTEMPTS; attempt++) {
    if (width <= MIN_WIDTH) break;
    const scale = Math.min(0.9, Math.sqrt(limitBytes / out.length) * MARGIN);
    width = Math.max(MIN_WIDTH, Math.floor(width * scale));
    out = await encode(width, SCALED_QUALITY);
  }
  if (out.length > limitBytes) throw new Error(`image could not be compressed below ${limitBytes} bytes`);
  return { data: out, contentType: 'image/webp', compressed: true };
}

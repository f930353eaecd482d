import sharp from 'sharp';

export interface FittedImage {
  data: Buffer;
  contentType: string;
  compressed: boolean;
}

/**
 * Makes an image fit Discord's per-attachment limit: first re-encode (WebP, then lower quality), then
 * downscale. Returns the original bytes untouched when they already fit. Sharp works off the main thread, so
 * this does not stall the event loop; callers bound how many run at once.
 */
export async function fitToLimit(data: Buffer, contentType: string, limitBytes: number): Promise<FittedImage> {
  if (data.length <= limitBytes) return { data, contentType, compressed: false };
  const meta = await sharp(data).metadata();
  const width = meta.width ?? 2048;
  for (const scale of [1, 0.85, 0.7, 0.55, 0.4, 0.3, 0.2]) {
    for (const quality of [90, 80, 70]) {
      let img = sharp(data);
      if (scale < 1) img = img.resize({ width: Math.max(64, Math.round(width * scale)) });
      const out = await img.webp({ quality, effort: 4 }).toBuffer();
      if (out.length <= limitBytes) return { data: out, contentType: 'image/webp', compressed: true };
    }
  }
  throw new Error(`image could not be compressed below ${limitBytes} bytes`);
}

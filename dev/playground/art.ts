// Pictures for the playground's fake Luma: instead of the tests' 64×64 solid square, a small landscape (sky, sun,
// hills) whose palette follows the prompt and whose layout follows the generation id — so a Reroll visibly gives
// a new picture of the "same" prompt — sized by the requested aspect ratio; a JPEG request gets the fake's real
// (solid) JPEG. An edit starts from its source image instead, recoloured by the prompt, so it looks like an edit.
import { createHash } from 'node:crypto';
import { encodePng, solidJpeg, type Rgb } from '../fakes/png.js';
import type { FakeGeneration } from '../fakes/luma/api.js';

const LONG_SIDE = 384;

function bytesOf(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A colour from a hue (0–1), saturation and lightness (0–1). */
function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return [f(0), f(8), f(4)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const u = Math.max(0, Math.min(1, t));
  return [Math.round(a[0] + (b[0] - a[0]) * u), Math.round(a[1] + (b[1] - a[1]) * u), Math.round(a[2] + (b[2] - a[2]) * u)];
}

/** Width and height for an aspect ratio like "16:9" (square when absent or unreadable). */
export function sizeFor(aspectRatio: string | undefined): { width: number; height: number } {
  const [w, h] = (aspectRatio ?? '1:1').split(':').map(Number);
  if (!w || !h) return { width: LONG_SIDE, height: LONG_SIDE };
  return w >= h
    ? { width: LONG_SIDE, height: Math.max(16, Math.round((LONG_SIDE * h) / w)) }
    : { width: Math.max(16, Math.round((LONG_SIDE * w) / h)), height: LONG_SIDE };
}

/** The output of a generation: an edit of its source image, or a landscape. */
export function playgroundArt(gen: FakeGeneration): Buffer | Promise<Buffer> {
  const source = gen.inputs.find((input) => input.field === 'source')?.bytes;
  if (gen.request.type === 'image_edit' && source) return editedArt(gen, source).catch(() => landscape(gen));
  return landscape(gen);
}

/**
 * The source, at most LONG_SIDE on its long side and keeping its shape (an edit follows its source), with its hues
 * turned and its colours lifted by an amount that follows the prompt.
 */
async function editedArt(gen: FakeGeneration, source: Buffer): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const turn = bytesOf(`${gen.id}:${gen.request.prompt}`);
  const image = sharp(source)
    .rotate()
    .resize(LONG_SIDE, LONG_SIDE, { fit: 'inside' })
    .modulate({ hue: 40 + Math.round(((turn[0] ?? 0) / 255) * 280), saturation: 1.25, brightness: 1.08 });
  return gen.request.output_format === 'jpeg' ? image.jpeg().toBuffer() : image.png().toBuffer();
}

function landscape(gen: FakeGeneration): Buffer {
  const request = gen.request as { prompt?: string; aspect_ratio?: string; output_format?: string };
  const palette = bytesOf(`${gen.request.type}:${request.prompt ?? ''}`);
  const layout = bytesOf(gen.id);
  const at = (b: Buffer, i: number) => (b[i % b.length] ?? 0) / 255;
  const hue = at(palette, 0);
  const skyTop = hsl(hue, 0.55, 0.28);
  const skyLow = hsl((hue + 0.08) % 1, 0.7, 0.72);
  const sun = hsl((hue + 0.5) % 1, 0.9, 0.75);
  const hills = [0, 1, 2].map((i) => hsl((hue + 0.3 + i * 0.06) % 1, 0.45, 0.22 + i * 0.1));
  if (request.output_format === 'jpeg') return solidJpeg(64, 64, skyLow);

  const { width, height } = sizeFor(request.aspect_ratio);
  const sunX = 0.2 + at(layout, 0) * 0.6;
  const sunY = 0.2 + at(layout, 1) * 0.25;
  const sunR = 0.07 + at(layout, 2) * 0.06;
  const waves = [0, 1, 2].map((i) => ({
    base: 0.6 + i * 0.12,
    amp: 0.03 + at(layout, 3 + i) * 0.06,
    freq: 1.5 + at(layout, 6 + i) * 4,
    phase: at(layout, 9 + i) * Math.PI * 2,
  }));
  const scale = Math.min(width, height);
  return encodePng(width, height, (px, py) => {
    const x = px / width;
    const y = py / height;
    for (let i = waves.length - 1; i >= 0; i--) {
      const w = waves[i];
      if (w && y > w.base + w.amp * Math.sin(x * w.freq * Math.PI + w.phase)) {
        return mix(hills[i] ?? skyTop, skyTop, (y - w.base) * 0.6);
      }
    }
    const d = Math.hypot((px - sunX * width) / scale, (py - sunY * height) / scale);
    const sky = mix(skyTop, skyLow, y / 0.8);
    if (d < sunR) return sun;
    return mix(sun, sky, (d - sunR) / (sunR * 2.5) + 0.35);
  });
}

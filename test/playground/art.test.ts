// The playground's fake-Luma pictures: an edit starts from its source image (its shape, its content recoloured),
// so an Edit in the playground looks like an edit of the picture, not an unrelated one.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { playgroundArt } from '../../dev/playground/art.js';
import { solidPng } from '../../dev/fakes/png.js';
import type { FakeGeneration } from '../../dev/fakes/luma/api.js';

function generation(request: FakeGeneration['request'], inputs: FakeGeneration['inputs'] = []): FakeGeneration {
  return { id: 'gen_test', request, createdAt: 0, state: 'queued', inputs, timing: { queuedMs: 0, processingMs: 0, hold: false, queuedUntil: 0, finishAt: 0 } };
}

describe('playground art', () => {
  it('edits the source: same shape, scaled to the long side, its colour turned by the prompt', async () => {
    const source = solidPng(200, 100, [200, 40, 40]);
    const out = await playgroundArt(generation({ prompt: 'make it snow', type: 'image_edit', source: { url: 'http://127.0.0.1/a.png' } }, [{ field: 'source', kind: 'url', bytes: source, mediaType: 'image/png' }]));
    const { width, height, format } = await sharp(out).metadata();
    expect({ width, height, format }).toEqual({ width: 384, height: 192, format: 'png' });
    const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const [r = 0, g = 0, b = 0] = data;
    // One colour all over, as the source, but not the source's red any more.
    expect(Math.abs(r - 200) + Math.abs(g - 40) + Math.abs(b - 40)).toBeGreaterThan(60);
  });

  it('draws a landscape of the requested shape for a new image', async () => {
    const out = await playgroundArt(generation({ prompt: 'a lighthouse', aspect_ratio: '16:9' }));
    const { width, height } = await sharp(out).metadata();
    expect({ width, height }).toEqual({ width: 384, height: 216 });
  });
});

// What an image's own bytes say it is: its type, and for a GIF whether it has more than one frame (Luma takes
// still GIFs only). Read from the bytes, whatever a server claimed.

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type the leading bytes announce, whatever the server claimed. */
export function sniffImageType(bytes: Buffer): 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif' | undefined {
  if (PNG.every((b, i) => bytes[i] === b)) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const head = bytes.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/**
 * Whether a GIF has more than one frame. Luma takes only still GIFs. Walks the block structure rather than
 * searching for marker bytes, which also occur inside compressed image data and colour tables.
 */
export function isAnimatedGif(bytes: Buffer): boolean {
  const scan = new GifFrameScanner();
  scan.push(bytes);
  return scan.animated;
}

/**
 * Counts a GIF's frames from a stream, chunk by chunk, keeping nothing but a few header bytes: `done` turns true
 * at the second image descriptor (animated), at the trailer (still) or at anything that is not a GIF block (not
 * animated, as for a truncated or non-GIF file). Feed it until `done` and stop reading there.
 */
export class GifFrameScanner {
  frames = 0;
  done = false;
  /** Bytes still to skip (colour tables, sub-block data). */
  private skip = 0;
  /** Bytes of the current fixed-size field collected so far, and how many it needs. */
  private field: number[] = [];
  private need = 13; // header (6) + logical screen descriptor (7)
  private state: 'header' | 'block' | 'image' | 'label' | 'lzw' | 'subblock' = 'header';

  get animated(): boolean {
    return this.frames > 1;
  }

  /** Returns `done`. */
  push(chunk: Buffer): boolean {
    let pos = 0;
    while (!this.done && pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      this.field.push(chunk[pos] ?? 0);
      pos++;
      if (this.field.length < this.need) continue;
      const field = this.field;
      this.field = [];
      this.step(field);
    }
    return this.done;
  }

  private expect(state: GifFrameScanner['state'], need: number): void {
    this.state = state;
    this.need = need;
  }

  private step(f: number[]): void {
    switch (this.state) {
      case 'header': {
        const magic = Buffer.from(f.slice(0, 6)).toString('latin1');
        if (magic !== 'GIF87a' && magic !== 'GIF89a') {
          this.done = true;
          return;
        }
        const flags = f[10] ?? 0;
        if (flags & 0x80) this.skip = 3 * 2 ** ((flags & 0x07) + 1);
        return this.expect('block', 1);
      }
      case 'block':
        if (f[0] === 0x2c) return this.expect('image', 9); // image descriptor: left, top, width, height, flags
        if (f[0] === 0x21) return this.expect('label', 1); // extension: label, then sub-blocks
        this.done = true; // trailer (0x3b) or garbage
        return;
      case 'image': {
        this.frames++;
        if (this.frames > 1) {
          this.done = true;
          return;
        }
        const flags = f[8] ?? 0;
        if (flags & 0x80) this.skip = 3 * 2 ** ((flags & 0x07) + 1);
        return this.expect('lzw', 1); // LZW minimum code size
      }
      case 'label':
      case 'lzw':
        return this.expect('subblock', 1);
      case 'subblock': {
        const size = f[0] ?? 0;
        if (size === 0) return this.expect('block', 1);
        this.skip = size;
        return this.expect('subblock', 1);
      }
    }
  }
}

// Tiny, dependency-free image encoders for tests and fakes. Everything here is deterministic: the same
// arguments always give the same bytes, so tests can compare downloads byte for byte.
import { deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as used by PNG and zip). */
export function crc32(...parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const buf of parts) {
    for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

function assertSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
}

/**
 * Encodes raw scanlines (each row: filter byte 0, then width*3 RGB bytes) as an 8-bit RGB PNG.
 * `level` is the zlib level: 0 stores the data as-is, which keeps noise images fast and their size exact.
 */
function encodeScanlines(width: number, height: number, scanlines: Buffer, level: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(scanlines, { level })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Encodes an 8-bit RGB PNG (filter 0 on every row) whose pixels come from `pixel(x, y)`. */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  assertSize(width, height);
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = y * stride; // raw[row] stays 0: filter type None
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const at = row + 1 + x * 3;
      raw[at] = r;
      raw[at + 1] = g;
      raw[at + 2] = b;
    }
  }
  return encodeScanlines(width, height, raw, 9);
}

/** A PNG of one colour (compresses to a few hundred bytes even when large). */
export function solidPng(width: number, height: number, rgb: Rgb): Buffer {
  return encodePng(width, height, () => rgb);
}

/**
 * An incompressible PNG of pseudo-random pixels. Its size is predictable: about width*height*3 bytes
 * (2048x2048 ≈ 12.6 MB), so it is the tool for "larger than the upload limit" tests.
 * Same seed, same bytes.
 */
export function noisePng(width: number, height: number, seed = 1): Buffer {
  assertSize(width, height);
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  // xorshift32: fast, deterministic, and its output does not compress.
  let s = seed >>> 0 || 0x9e3779b9;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let i = row + 1; i < row + stride; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      raw[i] = s & 0xff;
    }
  }
  return encodeScanlines(width, height, raw, 0);
}

/** Reads width and height from a PNG's IHDR, or undefined if `bytes` is not a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * A valid 1x1 GIF89a with `frames` frames (black and white alternating). With more than one frame it
 * carries a NETSCAPE2.0 loop extension and a 100 ms delay per frame, like any animated GIF.
 */
export function tinyGif(frames = 1): Buffer {
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames must be >= 1, got ${frames}`);
  const parts: Buffer[] = [
    Buffer.from('GIF89a', 'latin1'),
    // Logical screen 1x1, global colour table of 2 entries (flag 0x80, size bits 000 = 2 colours).
    Buffer.from([0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00]),
    Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff, 0xff]),
  ];
  if (frames > 1) {
    parts.push(Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([0x03, 0x01, 0x00, 0x00, 0x00]));
  }
  for (let i = 0; i < frames; i++) {
    if (frames > 1) {
      // Graphic control extension: no disposal, 10/100 s delay, no transparency.
      parts.push(Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00]));
    }
    // Image descriptor at 0,0 size 1x1, no local colour table.
    parts.push(Buffer.from([0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]));
    // LZW, minimum code size 2: codes CLEAR(4), pixel index (0 or 1), END(5) packed in 3-bit codes.
    const pixelByte = i % 2 === 0 ? 0x44 : 0x4c;
    parts.push(Buffer.from([0x02, 0x02, pixelByte, 0x01, 0x00]));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/**
 * A baseline JFIF JPEG of one colour. Width and height are rounded up to whole 8x8 blocks in the
 * entropy data but declared exactly in the frame header. No chroma subsampling, quantisation table of
 * ones, and two minimal Huffman tables: only DC coefficients are coded, every block ends with EOB.
 */
export function solidJpeg(width: number, height: number, rgb: Rgb): Buffer {
  assertSize(width, height);
  if (width > 0xffff || height > 0xffff) throw new RangeError('JPEG size is limited to 65535');
  const [r, g, b] = rgb;
  const ycc = [
    0.299 * r + 0.587 * g + 0.114 * b,
    -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
    0.5 * r - 0.418688 * g - 0.081312 * b + 128,
  ];
  // For a flat 8x8 block the DCT's DC term is 8 * (value - 128); with a quantiser of 1 it is coded as is.
  const dc = ycc.map((v) => Math.max(-1024, Math.min(1016, Math.round(8 * (Math.min(255, Math.max(0, v)) - 128)))));

  const segment = (marker: number, payload: number[]): number[] => [
    0xff,
    marker,
    (payload.length + 2) >> 8,
    (payload.length + 2) & 0xff,
    ...payload,
  ];
  const app0 = segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const dqt = segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]);
  const sof0 = segment(0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    ...[1, 2, 3].flatMap((id) => [id, 0x11, 0x00]),
  ]);
  // DC table 0: categories 0..11, all with 4-bit codes 0000..1011. AC table 0: only EOB (0x00), code "0".
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 12;
  const acCounts = new Array<number>(16).fill(0);
  acCounts[0] = 1;
  const dht = segment(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i), 0x10, ...acCounts, 0x00]);
  const sos = segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);

  const bits: number[] = [];
  const put = (value: number, length: number): void => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >> i) & 1);
  };
  const putDc = (diff: number): void => {
    const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
    put(category, 4);
    if (category > 0) put(diff > 0 ? diff : diff + (1 << category) - 1, category);
    put(0, 1); // EOB
  };
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  for (let i = 0; i < blocks; i++) {
    // DC is coded as the difference from the previous block of the same component.
    for (const value of dc) putDc(i === 0 ? value : 0);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const entropy: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | (bits[i + j] as number);
    entropy.push(byte);
    if (byte === 0xff) entropy.push(0x00); // byte stuffing
  }
  return Buffer.from([0xff, 0xd8, ...app0, ...dqt, ...sof0, ...dht, ...sos, ...entropy, 0xff, 0xd9]);
}

/** A valid 8x8 mid-grey JPEG. */
export function tinyJpeg(): Buffer {
  return solidJpeg(8, 8, [128, 128, 128]);
}

/** A valid 1x1 lossless (VP8L) WebP. */
export function tinyWebp(): Buffer {
  return Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
}

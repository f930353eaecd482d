// The multipart body of message files (src/http/multipart.ts): Discord's form as one contiguous body, framed around a
// result's own bytes when they were laid out with room for it.
import { Response } from 'undici';
import { describe, expect, it } from 'vitest';
import { FRAME_ROOM_BEFORE, framableSize, framableView, multipartBody, type MultipartBody } from '../../../src/discord/transport/multipart.js';

/** Parsed by undici's form-data parser, as the fake Discord (and any server) reads it. */
async function parse(form: MultipartBody) {
  return new Response(form.body, { headers: { 'content-type': form.contentType } }).formData();
}

async function bytesOf(value: unknown): Promise<Buffer> {
  return Buffer.from(await (value as File).arrayBuffer());
}

function pattern(length: number, mod = 253): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => i % mod));
}

describe('multipartBody', () => {
  it('encodes payload_json and files[n] with their names, types and exact bytes, also bytes inside a larger buffer', async () => {
    const backing = pattern(300_000);
    const first = backing.subarray(1000, 201_000);
    const second = Buffer.from('second file');
    const form = multipartBody({ content: 'hello', attachments: [{ id: 0 }, { id: 1 }] }, [
      { name: 'luma-1.png', data: first, contentType: 'image/png' },
      { name: 'b.txt', data: second, contentType: 'text/plain' },
    ]);

    const parsed = await parse(form);
    const a = parsed.get('files[0]') as File;
    expect(a.name).toBe('luma-1.png');
    expect(a.type).toBe('image/png');
    expect((await bytesOf(a)).equals(first)).toBe(true);
    expect((await bytesOf(parsed.get('files[1]'))).equals(second)).toBe(true);
    expect(JSON.parse(parsed.get('payload_json') as string)).toEqual({ content: 'hello', attachments: [{ id: 0 }, { id: 1 }] });
    // A buffer it was not told it may write around is not written to.
    expect(backing.equals(pattern(300_000))).toBe(true);
    expect(form.body.buffer).not.toBe(backing.buffer);
  });

  it('frames a file laid out with room around it in place: the body is the same memory, the bytes are not copied', async () => {
    const image = pattern(200_000, 251);
    const backing = Buffer.alloc(framableSize(image.length) + 5_000, 0xee);
    const view = framableView(backing, image.length);
    image.copy(view);
    const form = multipartBody({ content: 'here', attachments: [{ id: 0, filename: 'luma-9.png' }] }, [{ name: 'luma-9.png', data: view, contentType: 'image/png' }]);

    expect(form.body.buffer).toBe(backing.buffer);
    expect(form.body.byteOffset).toBeLessThan(view.byteOffset);
    expect(form.body.byteOffset + form.body.length).toBeGreaterThan(view.byteOffset + view.length);
    const parsed = await parse(form);
    expect((await bytesOf(parsed.get('files[0]'))).equals(image)).toBe(true);
    expect(JSON.parse(parsed.get('payload_json') as string)).toMatchObject({ content: 'here' });
    expect(view.equals(image)).toBe(true);
    expect(backing.subarray(0, form.body.byteOffset).every((b) => b === 0xee)).toBe(true); // nothing before the body written
  });

  it('frames the same bytes again for another message (a second route, a plain retry), and the file stays intact', async () => {
    const image = pattern(70_000);
    const view = framableView(Buffer.alloc(framableSize(image.length)), image.length);
    image.copy(view);
    const file = { name: 'luma-2.png', data: view, contentType: 'image/png' };
    const long = multipartBody({ content: 'x'.repeat(3_000), embeds: [{ description: 'é'.repeat(1_000) }] }, [file]);
    expect(JSON.parse((await parse(long)).get('payload_json') as string).content).toHaveLength(3_000);
    const short = multipartBody({ content: 'plain' }, [file]);
    const parsed = await parse(short);
    expect(JSON.parse(parsed.get('payload_json') as string)).toEqual({ content: 'plain' });
    expect((await bytesOf(parsed.get('files[0]'))).equals(image)).toBe(true);
    expect(view.equals(image)).toBe(true);
  });

  it('copies the file into a new body when the message is larger than the room before it', async () => {
    const image = pattern(10_000);
    const backing = Buffer.alloc(framableSize(image.length));
    const view = framableView(backing, image.length);
    image.copy(view);
    const content = '€'.repeat(FRAME_ROOM_BEFORE / 2); // 3 bytes each in UTF-8: over the room
    const form = multipartBody({ content }, [{ name: 'luma-3.png', data: view, contentType: 'image/png' }]);

    expect(form.body.buffer).not.toBe(backing.buffer);
    const parsed = await parse(form);
    expect(JSON.parse(parsed.get('payload_json') as string).content).toBe(content);
    expect((await bytesOf(parsed.get('files[0]'))).equals(image)).toBe(true);
    expect(backing.subarray(0, FRAME_ROOM_BEFORE).every((b) => b === 0)).toBe(true);
  });

  it('keeps a quote or a line break in a file name from breaking the part headers', async () => {
    const form = multipartBody({}, [{ name: 'a"b\r\nc.png', data: Buffer.from('x'), contentType: 'image/png' }]);
    const file = (await parse(form)).get('files[0]') as File;
    expect(file.name).toBe('a"b\r\nc.png'); // escaped on the wire, read back as given
    expect(file.type).toBe('image/png');
  });

  it('refuses a view over a buffer without room for the framing', () => {
    expect(() => framableView(Buffer.alloc(100), 100)).toThrow(RangeError);
  });
});

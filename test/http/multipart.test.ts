// The multipart body of message files (src/http/multipart.ts): Discord's form, with each file's bytes as given.
import { FormData as StrictFormData, Response as StrictResponse } from 'undici';
import { describe, expect, it } from 'vitest';
import { multipartForm } from '../../src/http/multipart.js';

describe('multipartForm', () => {
  it('encodes payload_json and files[n] with their names, types and exact bytes, also bytes inside a larger buffer', async () => {
    const backing = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 253));
    const first = backing.subarray(1000, 201_000); // several 64 kB pieces, not starting at the buffer's start
    const second = Buffer.from('second file');
    const form = multipartForm({ content: 'hello', attachments: [{ id: 0 }, { id: 1 }] }, [
      { name: 'luma-1.png', data: first, contentType: 'image/png' },
      { name: 'b.txt', data: second, contentType: 'text/plain' },
    ]);

    // Encoded and parsed again by the same multipart code undici sends it with.
    const parsed = await new Response(form).formData();
    const a = parsed.get('files[0]') as File;
    const b = parsed.get('files[1]') as File;
    expect(a.name).toBe('luma-1.png');
    expect(a.type).toBe('image/png');
    expect(Buffer.from(await a.arrayBuffer()).equals(first)).toBe(true);
    expect(b.name).toBe('b.txt');
    expect(Buffer.from(await b.arrayBuffer()).equals(second)).toBe(true);
    expect(JSON.parse(parsed.get('payload_json') as string)).toEqual({ content: 'hello', attachments: [{ id: 0 }, { id: 1 }] });
  });

  it('can be encoded twice (a retried request sends the same bytes again)', async () => {
    const data = Buffer.alloc(150_000, 7);
    const form = multipartForm({}, [{ name: 'x.png', data, contentType: 'image/png' }]);
    for (let i = 0; i < 2; i++) {
      const file = (await new Response(form).formData()).get('files[0]') as File;
      expect(file.size).toBe(data.length);
    }
  });

  it('still encodes the files with a FormData that takes only real Blobs (undici 7, the global one of Node 24)', async () => {
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251)).subarray(10);
    const form = multipartForm({ content: 'x' }, [{ name: 'r.png', data, contentType: 'image/png' }], StrictFormData as unknown as typeof FormData);
    const parsed = await new StrictResponse(form as unknown as StrictFormData).formData();
    const file = parsed.get('files[0]') as unknown as File;
    expect(file.name).toBe('r.png');
    expect(file.type).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer()).equals(data)).toBe(true);
  });
});

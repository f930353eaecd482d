// Tests dev/fakes/discord/multipart.ts: the fake reads multipart bodies exactly as undici's own parser does, and
// refuses malformed ones.
import { describe, expect, it } from 'vitest';
import { BodyParseError, multipartParts, parseBody } from '../../../dev/fakes/discord/multipart.js';
import { encodeForm } from '../../../src/discord/transport/request.js';
import { framableSize, framableView, multipartBody } from '../../../src/discord/transport/multipart.js';

const png = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));

async function bytesOf(form: FormData): Promise<{ raw: Buffer; contentType: string }> {
  const res = new Response(form);
  return { raw: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
}

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Undici's FormData keeps no Content-Type for a text field: compare the others' only. */
const comparable = (parts: ReturnType<typeof multipartParts>) => parts.map((p) => (p.filename === undefined ? { ...p, contentType: '' } : p));

/** What undici's parser makes of the body, in the fake's terms. */
async function reference(contentType: string, raw: Buffer) {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  return Promise.all(
    [...form.entries()].map(async ([name, v]) =>
      typeof v === 'string' ? { name, filename: undefined, contentType: '', data: Buffer.from(v) } : { name, filename: v.name, contentType: v.type, data: Buffer.from(await v.arrayBuffer()) },
    ),
  );
}

describe("the fake Discord's multipart parser", () => {
  const payload = { content: 'line one\nline "two"', attachments: [{ id: 0, filename: 'a "b".png' }] };

  it('reads what discord.js sends (undici-encoded FormData) as undici does', async () => {
    const form = new FormData();
    form.append('files[0]', new Blob([png], { type: 'image/png' }), 'a "b".png');
    form.append('payload_json', JSON.stringify(payload));
    const { raw, contentType } = await bytesOf(form);
    const parts = multipartParts(contentType, raw);
    expect(comparable(parts)).toEqual(await reference(contentType, raw));
    expect(parts.map((p) => p.name)).toEqual(['files[0]', 'payload_json']);
  });

  it("reads the bot's own bodies — framed in place, copied, and encoded from a form — as undici does", async () => {
    const backing = Buffer.alloc(framableSize(png.length));
    const view = framableView(backing, png.length);
    png.copy(view);
    const framed = multipartBody(payload, [{ name: 'a "b".png', data: view, contentType: 'image/png' }]);
    const copied = multipartBody(payload, [
      { name: 'one.png', data: png, contentType: 'image/png' },
      { name: 'two.webp', data: png.subarray(10), contentType: 'image/webp' },
    ]);
    const form = new FormData();
    form.append('files[0]', new Blob([png], { type: 'image/png' }), 'x.png');
    form.append('payload_json', JSON.stringify(payload));
    const encoded = encodeForm(form as unknown as Parameters<typeof encodeForm>[0]);
    for (const { contentType, raw } of [
      { contentType: framed.contentType, raw: Buffer.from(framed.body) },
      { contentType: copied.contentType, raw: Buffer.from(copied.body) },
      { contentType: encoded.contentType, raw: await read(encoded.body) },
    ]) {
      expect(comparable(multipartParts(contentType, raw))).toEqual(await reference(contentType, raw));
    }
    const parsed = await parseBody(framed.contentType, Buffer.from(framed.body));
    expect(parsed.json).toEqual(payload);
    expect(parsed.files).toEqual([{ name: 'files[0]', filename: 'a "b".png', contentType: 'image/png', data: png }]);
  });

  it('refuses a body without its closing boundary, without a boundary, or with a part that names nothing', async () => {
    const copied = multipartBody(payload, [{ name: 'one.png', data: png, contentType: 'image/png' }]);
    const raw = Buffer.from(copied.body);
    const cut = raw.subarray(0, raw.length - 10);
    await expect(parseBody(copied.contentType, cut)).rejects.toThrow(BodyParseError);
    await expect(parseBody('multipart/form-data', raw)).rejects.toThrow(/no boundary/);
    const b = /boundary=(\S+)/.exec(copied.contentType)?.[1] ?? '';
    const nameless = Buffer.from(`--${b}\r\nContent-Type: text/plain\r\n\r\nhi\r\n--${b}--\r\n`);
    await expect(parseBody(copied.contentType, nameless)).rejects.toThrow(/Content-Disposition/);
  });
});

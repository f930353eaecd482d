// The multipart/form-data body of a message with files, as one contiguous Uint8Array — the only body @discordjs/rest
// sends as it is: it copies a Blob, an iterable or a stream whole into a new buffer first, and undici encodes a
// FormData through a web ReadableStream that copies every piece of every file again (and costs a promise or two per
// piece). At hundreds of results a minute those copies were most of the native memory the bot churned through, and
// a copy that waits on a slow socket outlives a young-generation collection and stays until a full one.
//
// A file whose bytes were laid out with room around them (`framableView`: the transfer budget's buffers, see
// src/jobs/steps/transfer.ts) is framed in place: the form's headers go into the room before its bytes, the closing
// boundary into the room after, and the body is a view over the three — no byte of the file is copied. Any other
// file (a re-encoded one, a kept result handed over) is copied once into a new body.

import { randomBytes } from 'node:crypto';

export interface MultipartFile {
  name: string;
  data: Uint8Array;
  contentType: string;
}

export interface MultipartBody {
  body: Buffer;
  /** `multipart/form-data` with the body's boundary. */
  contentType: string;
}

/** Room left before a framable file's bytes: the form's headers and `payload_json` (a message, a few kB at most). */
export const FRAME_ROOM_BEFORE = 16 * 1024;
/** Room left after them: the closing boundary. */
const FRAME_ROOM_AFTER = 128;

/** Views whose surroundings (FRAME_ROOM_BEFORE before, FRAME_ROOM_AFTER after) belong to them. */
const framable = new WeakSet<Uint8Array>();

/** Bytes of the buffer a framable view of `length` bytes needs. */
export function framableSize(length: number): number {
  return FRAME_ROOM_BEFORE + length + FRAME_ROOM_AFTER;
}

/**
 * `length` bytes of `backing` after FRAME_ROOM_BEFORE bytes of room, marked so that a multipart body may write its
 * framing around them. `backing` must hold framableSize(length) bytes and be the caller's alone while the view is used.
 */
export function framableView(backing: Buffer, length: number): Buffer {
  if (backing.length < framableSize(length)) throw new RangeError('buffer too small for a framable view');
  const view = backing.subarray(FRAME_ROOM_BEFORE, FRAME_ROOM_BEFORE + length);
  framable.add(view);
  return view;
}

/** A fresh boundary for one body. */
export function newBoundary(): string {
  return `----luma-bot-${randomBytes(16).toString('hex')}`;
}

/** The opening of one part, up to and with the blank line: the boundary line and the part's headers. */
export function partHead(boundary: string, name: string, file?: { filename?: string; contentType: string }): string {
  const filename = file?.filename ? `; filename="${escape(file.filename)}"` : '';
  const type = file ? `\r\nContent-Type: ${escape(file.contentType)}` : '';
  return `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"${filename}${type}\r\n\r\n`;
}

/** The line that closes the body. */
export function closingDelimiter(boundary: string): string {
  return `--${boundary}--\r\n`;
}

/** Discord's form: `payload_json`, then `files[n]` (n matching the payload's `attachments[].id`). */
export function multipartBody(payload: unknown, files: readonly MultipartFile[]): MultipartBody {
  const boundary = newBoundary();
  const contentType = `multipart/form-data; boundary=${boundary}`;
  const json = `${partHead(boundary, 'payload_json', { contentType: 'application/json' })}${JSON.stringify(payload)}\r\n`;
  const fileHead = (file: MultipartFile, i: number) => partHead(boundary, `files[${i}]`, { filename: file.name, contentType: file.contentType });
  const end = closingDelimiter(boundary);

  const only = files.length === 1 ? files[0] : undefined;
  if (only && framable.has(only.data)) {
    const head = json + fileHead(only, 0);
    const tail = `\r\n${end}`;
    const headBytes = Buffer.byteLength(head);
    if (headBytes <= FRAME_ROOM_BEFORE && Buffer.byteLength(tail) <= FRAME_ROOM_AFTER) {
      const data = only.data;
      const start = data.byteOffset - headBytes;
      const body = Buffer.from(data.buffer, start, headBytes + data.byteLength + Buffer.byteLength(tail));
      body.write(head, 0, 'utf8');
      body.write(tail, headBytes + data.byteLength, 'utf8');
      return { body, contentType };
    }
  }
  const parts: Uint8Array[] = [Buffer.from(json)];
  files.forEach((file, i) => parts.push(Buffer.from(fileHead(file, i)), file.data, CRLF));
  parts.push(Buffer.from(end));
  return { body: Buffer.concat(parts), contentType };
}

export const CRLF = Buffer.from('\r\n');

/** A name inside the quotes of a Content-Disposition, as browsers and undici write it; no line breaks in a header. */
function escape(name: string): string {
  return name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

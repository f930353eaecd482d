// Request bodies as Discord receives them: JSON, or multipart/form-data with `payload_json` and `files[n]`.

export interface UploadedFile {
  /** The form field name, e.g. `files[0]`. */
  name: string;
  /** The filename given in the part's Content-Disposition. */
  filename: string;
  /** The part's Content-Type ('' when the client sent none). */
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  json: unknown;
  files: UploadedFile[];
}

export class BodyParseError extends Error {}

/**
 * Parses a raw request body. Non-file fields other than `payload_json` are merged into the JSON object, the way
 * Discord accepts them. Multipart is parsed strictly (RFC 7578 framing: every part opened by the boundary line and
 * closed by CRLF before the next one, the closing boundary present, a Content-Disposition naming each part) straight
 * from the bytes: undici's parser, which test/fakes/discord/multipart.test.ts checks this one against, copies every
 * file several times through web streams and Blobs — most of what the fake cost in a burst of uploads.
 */
export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  const type = (contentType ?? '').toLowerCase();
  if (raw.length === 0) return { json: undefined, files: [] };

  if (type.startsWith('multipart/form-data')) {
    let json: Record<string, unknown> | undefined;
    const extra: Record<string, unknown> = {};
    const files: UploadedFile[] = [];
    for (const part of multipartParts(contentType ?? '', raw)) {
      if (part.filename === undefined) {
        const value = part.data.toString('utf8');
        if (part.name === 'payload_json') json = parseJson(value) as Record<string, unknown>;
        else extra[part.name] = value;
        continue;
      }
      files.push({ name: part.name, filename: part.filename, contentType: part.contentType, data: part.data });
    }
    const merged = Object.keys(extra).length > 0 ? { ...extra, ...json } : json;
    return { json: merged, files };
  }

  if (type.startsWith('application/json') || type === '') {
    return { json: parseJson(raw.toString('utf8')), files: [] };
  }
  throw new BodyParseError(`unsupported content type ${contentType ?? '(none)'}`);
}

interface Part {
  name: string;
  /** Present for a file part (filename="…" in its Content-Disposition). */
  filename: string | undefined;
  contentType: string;
  /** A copy: the request's buffer is not kept alive by a recorded file. */
  data: Buffer;
}

const CRLF = Buffer.from('\r\n');

/** The parts of a multipart/form-data body, or a BodyParseError saying what is malformed. */
export function multipartParts(contentType: string, raw: Buffer): Part[] {
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) throw new BodyParseError('malformed multipart body: no boundary in the Content-Type');
  const delimiter = Buffer.from(`--${b}`);
  const closing = Buffer.concat([CRLF, delimiter]);
  if (raw.indexOf(delimiter) !== 0) throw new BodyParseError('malformed multipart body: it does not start with the boundary');
  const parts: Part[] = [];
  let at = delimiter.length;
  for (;;) {
    // After a boundary: "--" closes the body, CRLF opens a part.
    if (raw[at] === 0x2d && raw[at + 1] === 0x2d) return parts;
    if (raw[at] !== 0x0d || raw[at + 1] !== 0x0a) throw new BodyParseError('malformed multipart body: a boundary is not followed by CRLF');
    const headersEnd = raw.indexOf('\r\n\r\n', at + 2);
    if (headersEnd < 0) throw new BodyParseError('malformed multipart body: a part has no end of headers');
    const headers = raw.toString('utf8', at + 2, headersEnd).split('\r\n');
    const next = raw.indexOf(closing, headersEnd + 4);
    if (next < 0) throw new BodyParseError('malformed multipart body: a part is not closed by the boundary');
    parts.push(part(headers, Buffer.from(raw.subarray(headersEnd + 4, next))));
    at = next + closing.length;
  }
}

function part(headers: string[], data: Buffer): Part {
  let disposition: string | undefined;
  let contentType = '';
  for (const line of headers) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new BodyParseError(`malformed multipart body: bad header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) throw new BodyParseError('malformed multipart body: a part has no Content-Disposition: form-data');
  const param = (key: string) => new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(disposition)?.[1];
  const name = param('name');
  if (name === undefined) throw new BodyParseError('malformed multipart body: a part has no name');
  const filename = param('filename');
  return { name: unescape(name), filename: filename === undefined ? undefined : unescape(filename), contentType, data };
}

/** What encoders escape in quoted names (WHATWG: %0A, %0D, %22; older ones a backslash). */
function unescape(s: string): string {
  return s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%22/g, '"').replace(/\\(.)/g, '$1');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyParseError('The request body contains invalid JSON.');
  }
}

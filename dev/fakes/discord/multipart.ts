// Request bodies as Discord receives them: JSON, or multipart/form-data with `payload_json` and `files[n]`.
import { Response } from 'undici';

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
 * Parses a raw request body. Multipart goes through undici's own form-data parser (the same code that
 * serialised it on the discord.js side, so boundaries and escaping match exactly). Non-file fields other
 * than `payload_json` are merged into the JSON object, the way Discord accepts them.
 */
export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  const type = (contentType ?? '').toLowerCase();
  if (raw.length === 0) return { json: undefined, files: [] };

  if (type.startsWith('multipart/form-data')) {
    let form: Awaited<ReturnType<Response['formData']>>;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentType ?? '' } }).formData();
    } catch (error) {
      throw new BodyParseError(`malformed multipart body: ${(error as Error).message}`);
    }
    let json: Record<string, unknown> | undefined;
    const extra: Record<string, unknown> = {};
    const files: UploadedFile[] = [];
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') {
        if (name === 'payload_json') json = parseJson(value) as Record<string, unknown>;
        else extra[name] = value;
        continue;
      }
      files.push({
        name,
        filename: value.name,
        contentType: value.type,
        data: Buffer.from(await value.arrayBuffer()),
      });
    }
    const merged = Object.keys(extra).length > 0 ? { ...extra, ...json } : json;
    return { json: merged, files };
  }

  if (type.startsWith('application/json') || type === '') {
    return { json: parseJson(raw.toString('utf8')), files: [] };
  }
  throw new BodyParseError(`unsupported content type ${contentType ?? '(none)'}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyParseError('The request body contains invalid JSON.');
  }
}

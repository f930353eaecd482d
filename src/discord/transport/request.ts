// How @discordjs/rest's calls reach Discord: on this project's undici (7) and a connection pool the composition root
// bounds, instead of @discordjs/rest's own undici 6 and its global dispatcher that opens a connection for every call
// in flight. discord.js's FormData (a reply with files) is encoded here, streaming each file's bytes (undici 7 encodes only its
// own FormData class, and @discordjs/rest's fallbacks copy every file whole).
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { FirstResponseBody } from './first-response.js';
import { closingDelimiter, CRLF, newBoundary, partHead } from './multipart.js';

/** What @discordjs/rest's `makeRequest` option is given: a fetch-style init (method, headers, body, signal). */
export interface RestInit {
  method?: string;
  headers?: unknown;
  body?: unknown;
  signal?: unknown;
}

/** What @discordjs/rest reads of an answer (its `ResponseLike`). */
export interface RestResponse {
  body: Dispatcher.ResponseData['body'];
  arrayBuffer(): Promise<ArrayBuffer>;
  json(): Promise<unknown>;
  text(): Promise<string>;
  readonly bodyUsed: boolean;
  headers: Headers;
  status: number;
  statusText: string;
  ok: boolean;
}

/** A `makeRequest` for @discordjs/rest that sends through `dispatcher`. */
export function discordRequester(dispatcher: Dispatcher): (url: string, init: RestInit) => Promise<RestResponse> {
  return async (url, init) => {
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    let body: string | Uint8Array | Readable | null = null;
    if (isFormDataLike(init.body)) {
      const form = encodeForm(init.body);
      headers['content-type'] = form.contentType;
      headers['content-length'] = String(form.length);
      body = Readable.from(form.body, { objectMode: false });
    } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
      body = init.body;
    } else if (init.body != null) {
      throw new TypeError('Discord request bodies are JSON text, bytes or a multipart form');
    }
    const res = await request(url, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body,
      ...(init.signal ? { signal: init.signal as AbortSignal } : {}),
      dispatcher,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) responseHeaders.append(name, v);
    }
    return {
      body: res.body,
      arrayBuffer: () => res.body.arrayBuffer(),
      json: () => res.body.json(),
      text: () => res.body.text(),
      get bodyUsed() {
        return res.body.bodyUsed;
      },
      headers: responseHeaders,
      status: res.statusCode,
      statusText: STATUS_CODES[res.statusCode] ?? '',
      ok: res.statusCode >= 200 && res.statusCode < 300,
    };
  };
}

/** A callback request as the first response of an interaction that came over HTTP (its body as it would have gone). */
export function firstResponseOf(init: RestInit): FirstResponseBody {
  if (isFormDataLike(init.body)) {
    const form = encodeForm(init.body);
    return { contentType: form.contentType, body: form.body, length: form.length };
  }
  const headers = Object.entries((init.headers as Record<string, string> | undefined) ?? {});
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? 'application/json';
  const body = typeof init.body === 'string' || init.body instanceof Uint8Array ? init.body : '';
  return { contentType, body, length: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength };
}

/** What Discord answers a callback sent without `with_response`: 204, no body (here: it went out as the POST's answer). */
export function noContent(): RestResponse {
  const empty = Readable.from([]) as unknown as RestResponse['body'];
  return {
    body: empty,
    arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)),
    json: () => Promise.reject(new SyntaxError('no content')),
    text: () => Promise.resolve(''),
    bodyUsed: false,
    headers: new Headers(),
    status: 204,
    statusText: STATUS_CODES[204] ?? 'No Content',
    ok: true,
  };
}

interface FileLike {
  readonly name?: string;
  readonly type?: string;
  readonly size: number;
  stream(): AsyncIterable<Uint8Array>;
}

function isFormDataLike(body: unknown): body is Iterable<[string, string | FileLike]> {
  return typeof body === 'object' && body !== null && (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'FormData';
}

const encoder = new TextEncoder();

/**
 * multipart/form-data (RFC 7578) of a FormData's entries (framed as multipart.ts frames the bot's own bodies), of a
 * known length, read anew on every iteration (a retried request sends the same bytes again). A file's bytes are
 * read from its own stream() as they go out.
 */
export function encodeForm(form: Iterable<[string, string | FileLike]>): { contentType: string; length: number; body: AsyncIterable<Uint8Array> } {
  const boundary = newBoundary();
  const parts: Array<Uint8Array | FileLike> = [];
  for (const [name, value] of form) {
    if (typeof value === 'string') {
      parts.push(encoder.encode(`${partHead(boundary, name)}${value}\r\n`));
      continue;
    }
    const file = { ...(value.name ? { filename: value.name } : {}), contentType: value.type || 'application/octet-stream' };
    parts.push(encoder.encode(partHead(boundary, name, file)), value, CRLF);
  }
  parts.push(encoder.encode(closingDelimiter(boundary)));
  const length = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.size), 0);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    body: {
      async *[Symbol.asyncIterator]() {
        for (const part of parts) {
          if (part instanceof Uint8Array) yield part;
          else for await (const chunk of part.stream()) yield chunk;
        }
      },
    },
  };
}

// The fake Luma's HTTP plumbing: request bodies, JSON answers, scripted faults.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

import type { FaultMatch, FaultResponse } from './api.js';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** The body, or what fits of it: a body over 100 MB is read to its end but answered 413. */
export async function readBody(req: IncomingMessage): Promise<{ raw: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  return { raw: Buffer.concat(chunks), tooLarge };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A scripted answer: JSON `{ detail }` by default, a string as text, a Buffer as bytes, anything else as JSON. */
export function sendFault(res: ServerResponse, fault: { status: number; body?: unknown; headers?: Record<string, string> }): void {
  const { status, body } = fault;
  let payload: Buffer;
  let type: string;
  if (body === undefined) {
    payload = Buffer.from(JSON.stringify({ detail: STATUS_CODES[status] ?? 'Injected fault' }));
    type = 'application/json';
  } else if (typeof body === 'string') {
    payload = Buffer.from(body);
    type = 'text/plain; charset=utf-8';
  } else if (Buffer.isBuffer(body)) {
    payload = body;
    type = 'application/octet-stream';
  } else {
    payload = Buffer.from(JSON.stringify(body));
    type = 'application/json';
  }
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': payload.length, ...fault.headers });
  res.end(payload);
}

/** Scripted responses, consumed in order by the requests they match. */
export class FaultQueue {
  readonly #entries: { match: FaultMatch; queue: FaultResponse[] }[] = [];

  add(match: FaultMatch, responses: FaultResponse[]): void {
    this.#entries.push({ match, queue: responses });
  }

  take(method: string, path: string): FaultResponse | undefined {
    for (const entry of this.#entries) {
      if (entry.queue.length === 0 || entry.match.method !== method) continue;
      const p = entry.match.path;
      const hit = p === undefined ? true : p instanceof RegExp ? p.test(path) : entry.match.exact ? path === p : path.startsWith(p);
      if (hit) return entry.queue.shift();
    }
    return undefined;
  }
}

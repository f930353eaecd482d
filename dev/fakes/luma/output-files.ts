// The fake Luma's output files: presigned-style URLs under /files that expire (after outputTtlMs, or all at once with
// expireOutputs()) and answer 403 with S3's XML error afterwards, as Luma's storage does.
import { createHmac, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import type { InputMediaType } from '../../../src/luma/types.js';
import type { GenerationStore, GenRecord } from './generations.js';
import { sniffImage } from './inputs.js';

const EXTENSIONS: Record<InputMediaType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export class OutputFiles {
  // URLs are signed with the current epoch; bumping it invalidates every URL minted before.
  readonly #signingKey = randomBytes(32);
  #epoch = 0;

  constructor(
    private readonly generations: GenerationStore,
    private readonly options: { now: () => number; ttlMs: number; origin: () => string },
  ) {}

  /** A fresh URL for the generation's output, valid for ttlMs. */
  mint(rec: GenRecord): string {
    const name = this.#fileName(rec);
    const expires = this.options.now() + this.options.ttlMs;
    return `${this.options.origin()}/files/${name}?expires=${expires}&sig=${this.#sign(name, expires, this.#epoch)}`;
  }

  /** Every URL minted so far answers 403 from now on. */
  expireAll(): void {
    this.#epoch++;
  }

  /** GET /files/:name: the bytes, or S3's 403 for a bad signature, an expired URL or no such output. */
  serve(res: ServerResponse, name: string, query: URLSearchParams): void {
    const expires = Number(query.get('expires'));
    const sig = query.get('sig') ?? '';
    let epoch = this.#epoch;
    while (epoch >= 0 && sig !== this.#sign(name, expires, epoch)) epoch--;
    if (!Number.isSafeInteger(expires) || epoch < 0) {
      denied(res, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    // A URL signed before the last expireAll() counts as expired.
    if (epoch < this.#epoch || this.options.now() > expires) {
      denied(res, 'AccessDenied', 'Request has expired');
      return;
    }
    const rec = this.generations.records.get(name.replace(/\.[a-z]+$/, ''));
    if (!rec || this.generations.stateOf(rec) !== 'completed') {
      denied(res, 'AccessDenied', 'Access Denied');
      return;
    }
    if (rec.fileFailuresLeft > 0) {
      rec.fileFailuresLeft--;
      const xml = s3Error('SlowDown', 'Please reduce your request rate.');
      res.writeHead(503, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
      return;
    }
    const bytes = this.generations.outputOf(rec);
    res.writeHead(200, { 'Content-Type': sniffImage(bytes) ?? 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(bytes);
  }

  #fileName(rec: GenRecord): string {
    return `${rec.id}.${EXTENSIONS[sniffImage(this.generations.outputOf(rec)) ?? 'image/png']}`;
  }

  #sign(name: string, expires: number, epoch: number): string {
    return createHmac('sha256', this.#signingKey).update(`${name}\n${expires}\n${epoch}`).digest('hex');
  }
}

function denied(res: ServerResponse, code: string, message: string): void {
  const xml = s3Error(code, message);
  res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}

// The fake CDN and media proxy: stores attachment bytes, hands out signed, expiring URLs like
// https://cdn.discordapp.com/attachments/{channel}/{id}/{name}?ex=..&is=..&hm=.. and serves them.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIAttachment, APIEmbedImage } from 'discord-api-types/v10';
import { resolveContentType, sniffImage } from './media.js';

export interface AttachmentRecord {
  id: string;
  channelId: string;
  filename: string;
  contentType: string | undefined;
  data: Buffer;
  width: number | undefined;
  height: number | undefined;
  description: string | undefined;
  title: string | undefined;
  flags: number;
}

export interface ExternalImageRecord {
  key: string;
  url: string;
  contentType: string | undefined;
  data: Buffer;
  width: number | undefined;
  height: number | undefined;
}

export interface CdnResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Real signed URLs live about a day. */
const URL_LIFETIME_S = 24 * 60 * 60;

export class FakeCdn {
  readonly #attachments = new Map<string, AttachmentRecord>();
  readonly #external = new Map<string, ExternalImageRecord>();
  readonly #externalByUrl = new Map<string, ExternalImageRecord>();
  // Rotating the key invalidates every URL handed out so far, which is what expiry looks like to a client.
  #key = randomBytes(32);
  #epoch = 0;
  /** Signed queries per attachment for the current key, so an attachment's URL is stable until expiry. */
  readonly #signed = new Map<string, { epoch: number; query: string }>();
  /** The CDN's clock against real time (`shiftClock`): links are signed and checked by it. */
  #offsetMs = 0;

  constructor(
    private readonly cdnOrigin: string,
    private readonly mediaOrigin: string,
  ) {}

  addAttachment(input: Omit<AttachmentRecord, 'width' | 'height' | 'contentType' | 'flags'> & {
    contentType: string;
    flags?: number;
  }): AttachmentRecord {
    const image = sniffImage(input.data);
    const record: AttachmentRecord = {
      ...input,
      contentType: resolveContentType(input.filename, input.contentType, input.data),
      width: image?.width,
      height: image?.height,
      flags: input.flags ?? 0,
    };
    this.#attachments.set(record.id, record);
    return record;
  }

  getAttachment(id: string): AttachmentRecord | undefined {
    return this.#attachments.get(id);
  }

  /** Forgets an attachment (its message was deleted): its links 404 and cannot be refreshed. */
  removeAttachment(id: string): void {
    this.#attachments.delete(id);
    this.#signed.delete(id);
  }

  /**
   * Moves the CDN's clock by `ms` from real time (0: back to real time). Links are signed with their issue time
   * (`is`) and expiry (`ex`, a day later) on this clock and checked against it: sign links in the past, move back,
   * and they have expired as a day-old link has.
   */
  shiftClock(ms: number): void {
    this.#offsetMs = ms;
  }

  /**
   * `POST /attachments/refresh-urls` for one URL: a freshly signed link to the same attachment (signed now, whatever
   * the old one's state), or undefined when the URL names no attachment this CDN holds.
   */
  refresh(url: string): string | undefined {
    let path: string;
    try {
      const u = new URL(url);
      if (u.origin !== this.cdnOrigin && u.origin !== this.mediaOrigin) return undefined;
      path = u.pathname;
    } catch {
      return undefined;
    }
    const m = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
    const record = m ? this.#attachments.get(m[2] ?? '') : undefined;
    if (!m || !record || record.channelId !== m[1] || safeDecode(m[3] ?? '') !== record.filename) return undefined;
    this.#signed.delete(record.id);
    return this.renderAttachment(record).url;
  }

  /** The attachment object with freshly signed URLs, as Discord renders it in every payload. */
  renderAttachment(record: AttachmentRecord): APIAttachment {
    const path = `/attachments/${record.channelId}/${record.id}/${encodeURIComponent(record.filename)}`;
    let signed = this.#signed.get(record.id);
    if (signed?.epoch !== this.#epoch || this.#expired(signed.query)) {
      signed = { epoch: this.#epoch, query: this.#sign(path) };
      this.#signed.set(record.id, signed);
    }
    const query = signed.query;
    const attachment: APIAttachment = {
      id: record.id,
      filename: record.filename,
      size: record.data.length,
      url: `${this.cdnOrigin}${path}?${query}`,
      proxy_url: `${this.mediaOrigin}${path}?${query}`,
    };
    if (record.contentType !== undefined) attachment.content_type = record.contentType;
    if (record.width !== undefined && record.height !== undefined) {
      attachment.width = record.width;
      attachment.height = record.height;
      attachment.placeholder = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
      attachment.placeholder_version = 1;
    }
    if (record.description !== undefined) attachment.description = record.description;
    if (record.title !== undefined) attachment.title = record.title;
    if (record.flags) attachment.flags = record.flags;
    return attachment;
  }

  addExternalImage(input: { url: string; contentType?: string; data: Buffer }): ExternalImageRecord {
    const image = sniffImage(input.data);
    const key = randomBytes(12).toString('base64url');
    const record: ExternalImageRecord = {
      key,
      url: input.url,
      contentType: input.contentType ?? image?.contentType,
      data: input.data,
      width: image?.width,
      height: image?.height,
    };
    this.#external.set(key, record);
    this.#externalByUrl.set(input.url, record);
    return record;
  }

  externalByUrl(url: string): ExternalImageRecord | undefined {
    return this.#externalByUrl.get(url);
  }

  /** An embed image/thumbnail object proxied through the media origin, like images-ext-1.discordapp.net. */
  renderExternal(record: ExternalImageRecord): APIEmbedImage {
    const original = new URL(record.url);
    const proxyPath = `/external/${record.key}/${original.protocol.replace(':', '')}/${original.host}${original.pathname}`;
    const image: APIEmbedImage = { url: record.url, proxy_url: `${this.mediaOrigin}${proxyPath}` };
    if (record.width !== undefined && record.height !== undefined) {
      image.width = record.width;
      image.height = record.height;
    }
    if (record.contentType !== undefined) image.content_type = record.contentType;
    return image;
  }

  /** Makes every URL handed out so far stop working; payloads rendered afterwards carry new ones. */
  expireUrls(): void {
    this.#key = randomBytes(32);
    this.#epoch += 1;
  }

  /** Serves GET/HEAD for /attachments/... and /external/...; undefined when the path is not a CDN path. */
  serve(method: string, path: string, query: URLSearchParams): CdnResponse | undefined {
    const attachment = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
    if (attachment) {
      const [, channelId, id, filename] = attachment as unknown as [string, string, string, string];
      const record = this.#attachments.get(id);
      if (!record || record.channelId !== channelId || safeDecode(filename) !== record.filename) return notFound();
      // Discord answers unsigned, tampered and expired links alike with a 404 page.
      const signedPath = `/attachments/${channelId}/${id}/${encodeURIComponent(record.filename)}`;
      if (!this.#verify(signedPath, query)) return notFound();
      return ok(method, record.data, record.contentType);
    }
    const external = /^\/external\/([^/]+)\//.exec(path);
    if (external) {
      const record = this.#external.get(external[1] ?? '');
      if (!record) return notFound();
      return ok(method, record.data, record.contentType);
    }
    return undefined;
  }

  #now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Whether a signed query's `ex` has passed on this CDN's clock. */
  #expired(query: string): boolean {
    const ex = new URLSearchParams(query).get('ex');
    return ex === null || Number.parseInt(ex, 16) * 1000 < this.#now();
  }

  #sign(path: string, issuedAt = Math.floor(this.#now() / 1000)): string {
    const is = issuedAt.toString(16).padStart(8, '0');
    const ex = (issuedAt + URL_LIFETIME_S).toString(16).padStart(8, '0');
    return `ex=${ex}&is=${is}&hm=${this.#mac(path, ex, is)}&`;
  }

  #mac(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.#key).update(`${path}\n${ex}\n${is}`).digest('hex');
  }

  #verify(path: string, query: URLSearchParams): boolean {
    const ex = query.get('ex');
    const is = query.get('is');
    const hm = query.get('hm');
    if (!ex || !is || !hm) return false;
    if (Number.parseInt(ex, 16) * 1000 < this.#now()) return false;
    const expected = Buffer.from(this.#mac(path, ex, is), 'hex');
    const given = Buffer.from(hm, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function notFound(): CdnResponse {
  return {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: Buffer.from('This content is no longer available.'),
  };
}

function ok(method: string, data: Buffer, contentType: string | undefined): CdnResponse {
  return {
    status: 200,
    headers: {
      'content-type': contentType ?? 'application/octet-stream',
      'content-length': String(data.length),
      'cache-control': 'public, max-age=31536000',
    },
    body: method === 'HEAD' ? Buffer.alloc(0) : data,
  };
}

// Discord's side of HTTP interactions: the application's Ed25519 key pair, the check Discord makes before it accepts
// an Interactions Endpoint URL (a request with a bad signature must be refused with 401, a signed PING answered with
// PONG), and signed POSTs of interactions to one or several endpoints in turn, as a load balancer in front of them
// would spread them. An answer must come within 3 s; a later one is dropped, as Discord drops the interaction.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'undici';
import { BodyParseError, parseBody, type UploadedFile } from './multipart.js';

/** One POST of an interaction and what came of it. */
export interface HttpDelivery {
  interactionId: string;
  endpoint: string;
  /** The answer's HTTP status; 0 when none came (connection refused or reset, or no answer in time). */
  status: number;
  /** How long the answer took, ms (real time). */
  ms: number;
  /** True when the answer came after Discord's 3 s: it was dropped. */
  late: boolean;
  error?: string;
  /** The answer taken as the interaction's callback: what the callback route would have answered. */
  callback?: { status: number; body: unknown };
}

/** An answer to an interaction POST, parsed as the callback it stands for. */
export interface HttpAnswer {
  json: unknown;
  files: UploadedFile[];
}

/** Discord's limit for the answer to an interaction POST. */
export const HTTP_ANSWER_DEADLINE_MS = 3000;

export class InteractionSigner {
  /** The application's public key as the developer portal shows it: 64 hex digits. */
  readonly publicKey: string;
  readonly #privateKey: KeyObject;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    // The raw key is the last 32 bytes of its SubjectPublicKeyInfo.
    this.publicKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    this.#privateKey = privateKey;
  }

  /** The two headers Discord signs a request with: X-Signature-Ed25519 over timestamp + body. */
  headers(body: string | Buffer, timestampSeconds: number): Record<string, string> {
    const timestamp = String(timestampSeconds);
    const signature = sign(null, Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), this.#privateKey).toString('hex');
    return { 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp };
  }
}

/** Posts interactions, signed, to the endpoints in turn. */
export class InteractionPoster {
  readonly deliveries: HttpDelivery[] = [];
  #endpoints: string[] = [];
  #next = 0;
  readonly #agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });

  constructor(
    private readonly signer: InteractionSigner,
    private readonly nowMs: () => number,
  ) {}

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /**
   * Sets the endpoints after checking each as Discord checks a new Interactions Endpoint URL: a PING with a bad
   * signature must be refused with 401, a signed PING answered 200 with `{"type":1}`. Throws (naming the endpoint and
   * what it did) otherwise, as the developer portal refuses to save the URL.
   */
  async use(endpoints: readonly string[]): Promise<void> {
    for (const url of endpoints) {
      const ping = JSON.stringify({ id: '1', token: 'probe', type: 1, application_id: '1', version: 1 });
      const forged = { ...this.signer.headers(ping, Math.floor(this.nowMs() / 1000)), 'x-signature-ed25519': '0'.repeat(128) };
      const bad = await this.#post(url, ping, forged);
      if (bad.status !== 401) throw new Error(`fake Discord: ${url} answered ${bad.status} to a request with a bad signature; Discord wants 401`);
      const good = await this.#post(url, ping, this.signer.headers(ping, Math.floor(this.nowMs() / 1000)));
      const pong = good.body.toString('utf8');
      if (good.status !== 200 || (JSON.parse(pong || 'null') as { type?: unknown } | null)?.type !== 1) {
        throw new Error(`fake Discord: ${url} answered ${good.status} ${pong.slice(0, 200)} to a signed PING; Discord wants 200 {"type":1}`);
      }
    }
    this.#endpoints = [...endpoints];
    this.#next = 0;
  }

  /**
   * POSTs the interaction to the next endpoint. Resolves with its answer as a callback, or undefined when there was
   * none in time (refused, reset, an error status, or later than 3 s) — the member then sees "did not respond".
   */
  async deliver(interactionId: string, payload: Record<string, unknown>): Promise<HttpAnswer | undefined> {
    const endpoint = this.#endpoints[this.#next++ % this.#endpoints.length];
    if (endpoint === undefined) throw new Error('fake Discord: no interactions endpoint set (useInteractionsEndpoints)');
    const body = JSON.stringify(payload);
    const started = performance.now();
    const record: HttpDelivery = { interactionId, endpoint, status: 0, ms: 0, late: false };
    this.deliveries.push(record);
    try {
      const res = await this.#post(endpoint, body, this.signer.headers(body, Math.floor(this.nowMs() / 1000)));
      record.status = res.status;
      record.ms = performance.now() - started;
      record.late = record.ms > HTTP_ANSWER_DEADLINE_MS;
      if (record.late || res.status !== 200) return undefined;
      const parsed = await parseBody(res.contentType, res.body);
      return { json: parsed.json, files: parsed.files };
    } catch (err) {
      record.ms = performance.now() - started;
      record.error = err instanceof BodyParseError ? `unreadable answer: ${err.message}` : String(err);
      return undefined;
    }
  }

  /** A raw signed (or not) POST, for tests that send what Discord never would. */
  async #post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; contentType: string | undefined; body: Buffer }> {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Discord-Interactions/1.0 (+https://discord.com)', ...headers },
      body,
      dispatcher: this.#agent,
      headersTimeout: HTTP_ANSWER_DEADLINE_MS + 2000,
      bodyTimeout: HTTP_ANSWER_DEADLINE_MS + 2000,
    });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const type = res.headers['content-type'];
    return { status: res.statusCode, contentType: Array.isArray(type) ? type[0] : type, body: bytes };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

// Discord signs every interaction it POSTs: Ed25519 over the X-Signature-Timestamp header followed by the raw body,
// with the application's key (the developer portal's "Public Key"). node:crypto checks it; no package is needed.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** An Ed25519 public key as DER SubjectPublicKeyInfo: this fixed prefix (RFC 8410), then the 32 raw bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** How far a request's timestamp may be from now, either way: an older one is a replay (or a clock far off). */
export const MAX_TIMESTAMP_SKEW_MS = 60_000;

/** The application's public key (64 hex digits) as node:crypto's key object; throws on anything else. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('a Discord public key is 64 hex digits');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/** Why a request is refused, for the one log line; undefined when it is Discord's, and fresh. */
export type SignatureProblem = 'missing signature' | 'bad signature' | 'stale timestamp';

export interface SignedRequest {
  /** X-Signature-Ed25519: 128 hex digits. */
  signature: string | undefined;
  /** X-Signature-Timestamp: Unix seconds, as Discord sends it. */
  timestamp: string | undefined;
  body: Buffer;
}

/**
 * Checks a request against the key: the signature over timestamp + body, and a timestamp within
 * MAX_TIMESTAMP_SKEW_MS of `nowMs` (the injected clock) — a signed request captured once cannot be sent again later.
 */
export function checkSignature(key: KeyObject, req: SignedRequest, nowMs: number): SignatureProblem | undefined {
  const { signature, timestamp } = req;
  if (!signature || !timestamp) return 'missing signature';
  if (!/^[0-9a-fA-F]{128}$/.test(signature) || !/^\d{1,12}$/.test(timestamp)) return 'bad signature';
  const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), req.body]);
  let valid = false;
  try {
    valid = verify(null, signed, key, Buffer.from(signature, 'hex'));
  } catch {
    valid = false;
  }
  if (!valid) return 'bad signature';
  // Checked after the signature: the timestamp is only worth anything once it is known to be Discord's.
  if (Math.abs(nowMs - Number(timestamp) * 1000) > MAX_TIMESTAMP_SKEW_MS) return 'stale timestamp';
  return undefined;
}

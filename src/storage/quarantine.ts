// A stored record that no longer parses is moved aside — kept under `quarantine:<key>:<ms>` with its raw text, for
// the operator to look at — in the same atomic step that puts something in its place, and the operator is told
// with one `OPERATOR:` line (StorageAlarm.movedAside) by whoever's step landed.
import type { AtomicWrite } from './atomic.js';

/** A quarantined record is kept this long, then storage drops it. */
export const QUARANTINE_TTL_MS = 30 * 86_400_000;

export const quarantineKey = (key: string, at: number): string => `quarantine:${key}:${at}`;

/** What was found: where, its stored text, and what is wrong with it. */
export interface MoveAside {
  key: string;
  raw: string;
  problem: string;
}

/** The write that keeps a bad record's text aside (part of the step that replaces it). */
export function moveAside(bad: MoveAside, at: number): AtomicWrite & { key: string } {
  return { key: quarantineKey(bad.key, at), value: { key: bad.key, problem: bad.problem, at, raw: bad.raw }, ttlMs: QUARANTINE_TTL_MS };
}

import { randomBytes } from 'node:crypto';
import type { GenerationRequest, ImageInput } from '../luma/types.js';
import type { JobDisplay, JobGroup, JobInput, JobKind, JobRecord, JobRequester, ReplyRoute } from './types.js';

/** Short, URL- and custom_id-safe job ids. */
export function newJobId(): string {
  return randomBytes(6).toString('base64url');
}

export interface JobSpec {
  kind: JobKind;
  request: GenerationRequest;
  inputs: JobInput[];
  display: JobDisplay;
  parentJobId?: string;
}

/** The most images one request may ask for. */
export const MAX_IMAGES_PER_REQUEST = 4;

/**
 * The jobs of a request for `count` images of `spec` (1–4): each its own record and Luma generation; several are
 * tied together by a group (types.ts JobGroup), one alone carries none.
 */
export function newJobs(spec: JobSpec, count: number, requester: JobRequester, replyTo: ReplyRoute, now: number): JobRecord[] {
  const ids = Array.from({ length: count }, () => newJobId());
  const groupId = newJobId();
  // Each image's record is its own: its route and request change as it goes (a token blanked once it ended).
  return ids.map((id, index) => newJob(structuredClone(spec), { ...requester }, structuredClone(replyTo), now, id, count > 1 ? { id: groupId, index, jobIds: ids } : undefined));
}

/**
 * A new job record for `spec`, asked for by `requester` and answered through `replyTo`: the request carries the
 * member's id as Luma's `user_id`.
 */
export function newJob(spec: JobSpec, requester: JobRequester, replyTo: ReplyRoute, now: number, id = newJobId(), group?: JobGroup): JobRecord {
  return {
    id,
    kind: spec.kind,
    step: 'queued',
    createdAt: now,
    updatedAt: now,
    request: { ...spec.request, user_id: requester.userId },
    inputs: spec.inputs,
    display: spec.display,
    requester,
    replyTo,
    ...(spec.parentJobId ? { parentJobId: spec.parentJobId } : {}),
    ...(group ? { group } : {}),
    submitAttempts: 0,
    progress: {},
    nonce: randomBytes(8).toString('hex').slice(0, 16),
  };
}

/**
 * Puts Discord URLs back where a record written by an older version kept the base64 of a member's image (in
 * `inputs` and in `request`); the bytes are fetched again when a POST needs them. Returns whether anything changed.
 */
export function withoutInlineData(job: Pick<JobRecord, 'request' | 'inputs'>): boolean {
  let changed = false;
  for (const input of job.inputs) {
    if ('data' in input.input && input.discordUrl !== undefined) {
      input.input = { url: input.discordUrl };
      changed = true;
    }
  }
  if (!changed) return false;
  const source = job.inputs.find((i) => i.role === 'source');
  if (source) job.request.source = source.input;
  if (job.request.image_ref !== undefined) job.request.image_ref = job.inputs.filter((i) => i.role === 'ref').map((i): ImageInput => i.input);
  return true;
}

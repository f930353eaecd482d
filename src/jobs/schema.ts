import { MODELS } from '../luma/types.js';
import type { JobStep } from './types.js';

/**
 * The shape check a job record passes when it is read back from storage: every field the engine, the renderer
 * and the quota module read without looking is there with its type. A record that fails it (truncated by a full
 * disk, hand-edited, written by an incompatible version) is quarantined rather than trusted, so one bad record
 * never crashes start-up or the scheduler.
 */
const STEPS: readonly JobStep[] = ['queued', 'submitting', 'polling', 'downloading', 'delivering', 'failing', 'done', 'failed', 'undelivered'];

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const orNull =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === null || check(v);
export const optional =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);

/** The first field of `o` that fails its check, as `path: expected`; undefined when all pass. */
export function firstProblem(o: Obj, path: string, fields: Record<string, [check: (v: unknown) => boolean, expected: string]>): string | undefined {
  for (const [name, [check, expected]] of Object.entries(fields)) {
    if (!check(o[name])) return `${path}${name}: expected ${expected}`;
  }
  return undefined;
}

const isImageInput = (v: unknown): boolean => isObj(v) && (isStr(v.url) || isStr(v.generation_id) || (isStr(v.data) && isStr(v.media_type)));

function requestProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'request: expected an object';
  return firstProblem(v, 'request.', {
    prompt: [isStr, 'a string'],
    model: [optional((m) => (MODELS as readonly unknown[]).includes(m)), MODELS.join(' or ')],
    image_ref: [optional((r) => Array.isArray(r) && r.every(isImageInput)), 'a list of image inputs'],
    source: [optional(isImageInput), 'an image input'],
  });
}

function inputsProblem(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'inputs: expected a list';
  const bad = v.findIndex((i) => !isObj(i) || (i.role !== 'source' && i.role !== 'ref') || !isImageInput(i.input) || !isStr(i.filename));
  return bad >= 0 ? `inputs[${bad}]: expected { role, input, filename }` : undefined;
}

function requesterProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'requester: expected an object';
  return firstProblem(v, 'requester.', {
    userId: [isStr, 'a string'],
    guildId: [orNull(isStr), 'a string or null'],
    channelId: [orNull(isStr), 'a string or null'],
    userInstalled: [isBool, 'true or false'],
    locale: [optional(isStr), 'a string'],
    placeLocale: [optional(orNull(isStr)), 'a string or null'],
  });
}

function quotaProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) return 'quota: expected an object';
  return firstProblem(v, 'quota.', {
    scope: [isStr, 'a string'],
    userId: [isStr, 'a string'],
    units: [isNum, 'a number'],
    usd: [isNum, 'a number'],
    periodKey: [isStr, 'a string'],
    state: [(s) => s === 'reserved' || s === 'committed' || s === 'refunded', 'reserved, committed or refunded'],
    charges: [(c) => Array.isArray(c) && c.every((x) => isObj(x) && isStr(x.key) && isStr(x.lock) && isNum(x.amount) && isNum(x.expiresAt)), 'a list of charges'],
  });
}

function failureProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) return 'failure: expected an object';
  return firstProblem(v, 'failure.', {
    code: [isStr, 'a string'],
    userMessage: [isStr, 'a string'],
    retryable: [isBool, 'true or false'],
    key: [optional(isStr), 'a string'],
    vars: [optional((x) => isObj(x) && Object.values(x).every((y) => isStr(y) || isNum(y))), 'strings and numbers by name'],
  });
}

/**
 * Why `value` is not a job record with this id, or undefined when it is one. `routeProblem` checks the reply route,
 * which only the delivery side knows the shape of.
 */
export function jobRecordProblem(value: unknown, id: string, routeProblem: (route: unknown) => string | undefined = objectRoute): string | undefined {
  if (!isObj(value)) return 'expected an object';
  const top = firstProblem(value, '', {
    id: [(v) => v === id, `the id ${JSON.stringify(id)}`],
    kind: [(v) => v === 'imagine' || v === 'edit', 'imagine or edit'],
    step: [(v) => (STEPS as readonly unknown[]).includes(v), STEPS.join(', ')],
    createdAt: [isNum, 'a number'],
    updatedAt: [isNum, 'a number'],
    display: [(d) => isObj(d) && isStr(d.prompt), 'an object with a prompt'],
    submitAttempts: [isNum, 'a number'],
    progress: [isObj, 'an object'],
    nonce: [isStr, 'a string'],
    generationId: [optional(isStr), 'a string'],
    parentJobId: [optional(isStr), 'a string'],
    notBefore: [optional(isNum), 'a number'],
    delivery: [optional(isObj), 'an object'],
    group: [optional((g) => isObj(g) && isStr(g.id) && isNum(g.index) && Array.isArray(g.jobIds) && g.jobIds.every(isStr)), 'a group { id, index, jobIds }'],
  });
  return top ?? requestProblem(value.request) ?? inputsProblem(value.inputs) ?? requesterProblem(value.requester) ?? routeProblem(value.replyTo) ?? quotaProblem(value.quota) ?? failureProblem(value.failure);
}


function objectRoute(v: unknown): string | undefined {
  return isObj(v) ? undefined : 'replyTo: expected an object';
}

import { randomBytes } from 'node:crypto';
import type { BaseInteraction } from 'discord.js';
import type { GenerationRequest, ImageInput } from '../luma/types.js';
import type { JobDisplay, JobInput, JobKind, JobRecord } from './types.js';

/** Discord's interaction tokens last 15 minutes from the interaction's creation. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;
/** Discord's default per-attachment limit for bots, when the interaction does not say. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

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

/** Builds a job record for an interaction: the request carries the member's Discord id as Luma's `user_id`. */
export function jobFromInteraction(interaction: BaseInteraction, spec: JobSpec): JobRecord {
  const now = Date.now();
  const guildInstalled = interaction.authorizingIntegrationOwners.guildId !== null;
  return {
    id: newJobId(),
    kind: spec.kind,
    step: 'queued',
    createdAt: now,
    updatedAt: now,
    request: { ...spec.request, user_id: interaction.user.id },
    inputs: spec.inputs,
    display: spec.display,
    discord: {
      applicationId: interaction.applicationId,
      interactionToken: interaction.token,
      interactionId: interaction.id,
      tokenExpiresAt: interaction.createdTimestamp + INTERACTION_TOKEN_TTL_MS,
      userId: interaction.user.id,
      channelId: interaction.channelId,
      guildId: interaction.guildId,
      userInstalled: interaction.guildId !== null && !guildInstalled,
      attachmentSizeLimit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
      locale: interaction.locale,
      guildLocale: interaction.guildLocale,
    },
    ...(spec.parentJobId ? { parentJobId: spec.parentJobId } : {}),
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

// Shared fixtures: records as the bot builds them, with only what a test varies.
import { randomBytes } from 'node:crypto';
import type { JobRecord, JobRequester } from '../../src/jobs/types.js';
import type { GenerationRequest, Model } from '../../src/luma/types.js';
import type { InteractionRoute } from '../../src/discord/route.js';

/** An interaction route as the Discord side stores it (a token that expired long ago, unless `over` says). */
export function makeRoute(over: Partial<InteractionRoute> = {}): InteractionRoute {
  return {
    applicationId: '1100000000000000001',
    interactionId: '1300000000000000001',
    interactionToken: 'token',
    tokenExpiresAt: 0,
    attachmentSizeLimit: 10 * 1024 * 1024,
    ...over,
  };
}

/** A job record as the job flow builds it, with only what quotas, the queue and the store look at varying. */
export function makeJob(o: {
  userId: string;
  guildId: string | null;
  model?: Model;
  userInstalled?: boolean;
  references?: number;
  edit?: boolean;
  requester?: Partial<JobRequester>;
  route?: Partial<InteractionRoute>;
}): JobRecord {
  const request: GenerationRequest = {
    prompt: 'a lighthouse at dusk',
    model: o.model ?? 'uni-1',
    type: o.edit ? 'image_edit' : 'image',
    ...(o.edit ? { source: { generation_id: 'gen_src' } } : {}),
    ...(o.references ? { image_ref: Array.from({ length: o.references }, (_, i) => ({ url: `https://cdn.discordapp.com/r${i}.png` })) } : {}),
    user_id: o.userId,
  };
  return {
    id: randomBytes(6).toString('base64url'),
    kind: o.edit ? 'edit' : 'imagine',
    step: 'queued',
    createdAt: 0,
    updatedAt: 0,
    request,
    inputs: [],
    display: { prompt: request.prompt, model: o.model ?? 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, webSearch: false, references: o.references ?? 0 },
    requester: { userId: o.userId, guildId: o.guildId, channelId: '1200000000000000002', userInstalled: o.userInstalled ?? false, ...o.requester },
    replyTo: { ...makeRoute(o.route) },
    submitAttempts: 0,
    progress: {},
    nonce: 'n',
  };
}

/** The requester a quota reservation of `job` is made for (no roles). */
export function requesterOfJob(job: JobRecord, roleIds: readonly string[] = []) {
  return { userId: job.requester.userId, guildId: job.requester.guildId, roleIds, userInstalled: job.requester.userInstalled };
}

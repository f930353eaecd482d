import { randomBytes } from 'node:crypto';
import type { Config } from '../../src/config.js';
import type { JobRecord } from '../../src/jobs/types.js';
import type { GenerationRequest, Model } from '../../src/luma/types.js';
import type { QuotaConfig } from '../../src/quota/service.js';

export const QUOTA_DEFAULTS: QuotaConfig = {
  quotaDefaultLimit: 3,
  quotaDefaultPeriod: 'day',
  quotaDmLimit: 2,
  quotaDmPeriod: 'day',
  quotaMaxWeight: 3,
  spendCapUsdPerDay: undefined,
};

export function quotaConfig(over: Partial<Pick<Config, keyof QuotaConfig>> = {}): QuotaConfig {
  return { ...QUOTA_DEFAULTS, ...over };
}

/** A job record as the job flow builds it, with only what quotas look at varying. */
export function makeJob(o: {
  userId: string;
  guildId: string | null;
  model?: Model;
  userInstalled?: boolean;
  references?: number;
  edit?: boolean;
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
    discord: {
      applicationId: '1100000000000000001',
      interactionToken: 'token',
      tokenExpiresAt: 0,
      interactionId: '1300000000000000001',
      userId: o.userId,
      channelId: '1200000000000000002',
      guildId: o.guildId,
      userInstalled: o.userInstalled ?? false,
      attachmentSizeLimit: 10 * 1024 * 1024,
    },
    submitAttempts: 0,
    progress: {},
    nonce: 'n',
  };
}

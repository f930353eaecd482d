import type { BaseInteraction } from 'discord.js';
import { newJob, type JobSpec } from '../jobs/create.js';
import type { JobDiscord, JobRecord } from '../jobs/types.js';

/** Discord's interaction tokens last 15 minutes from the interaction's creation. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;
/** Discord's default per-attachment limit for bots, when the interaction does not say. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/**
 * Whether the bot runs here as the member's own app in a server that did not install it: then the server's
 * settings do not apply and the member's personal quota does.
 */
export function isUserInstalledHere(interaction: BaseInteraction): boolean {
  return interaction.guildId !== null && interaction.authorizingIntegrationOwners.guildId === null;
}

/** Where a job's answers go: the facts of the interaction that asked for it. */
export function jobOrigin(interaction: BaseInteraction): JobDiscord {
  return {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionId: interaction.id,
    tokenExpiresAt: interaction.createdTimestamp + INTERACTION_TOKEN_TTL_MS,
    userId: interaction.user.id,
    channelId: interaction.channelId,
    guildId: interaction.guildId,
    userInstalled: isUserInstalledHere(interaction),
    attachmentSizeLimit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
    locale: interaction.locale,
    guildLocale: interaction.guildLocale,
  };
}

/** Builds a job record for an interaction: the request carries the member's Discord id as Luma's `user_id`. */
export function jobFromInteraction(interaction: BaseInteraction, spec: JobSpec): JobRecord {
  return newJob(spec, jobOrigin(interaction));
}

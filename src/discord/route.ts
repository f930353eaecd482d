import type { BaseInteraction } from 'discord.js';
import { firstProblem, isNum, isObj, isStr, optional } from '../jobs/schema.js';
import type { JobRecord, ReplyRoute } from '../jobs/types.js';

/** Discord's interaction tokens last 15 minutes from the interaction's creation. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;
/** Discord's default per-attachment limit for bots, when the interaction does not say. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;
/** Interaction tokens live 15 minutes; stop using one a little before that so an upload does not race the end. */
const TOKEN_MARGIN_MS = 45_000;

/**
 * How a job's answers reach its member on Discord: the interaction that asked (its reply can be edited with its
 * token for 15 minutes), and what the bot learnt about that reply. The core stores it as the job's opaque
 * `replyTo`; the member, channel and server are the job's requester.
 */
export interface InteractionRoute {
  applicationId: string;
  interactionId: string;
  /** Secret for 15 minutes: never logged (the logger redacts it), and emptied once it expired or the job ended. */
  interactionToken: string;
  tokenExpiresAt: number;
  /** Largest attachment Discord accepts in this interaction, bytes. */
  attachmentSizeLimit: number;
  /** Id of the interaction's reply message, learnt from the first progress edit (to check it after the token died). */
  originalMessageId?: string;
  /**
   * Set (and saved) before the result is uploaded to the reply: after a crash and a restart past the token's life,
   * the reply is checked for the image before a channel post could show it a second time.
   */
  uploadTried?: boolean;
  /** The progress line the reply shows now (an edit that would show the same is skipped). */
  shown?: string;
  /**
   * The reply is seen by the member alone (deferred EPHEMERAL: their /settings say results are private). When it can
   * no longer be edited, the answer goes by DM, never to the channel.
   */
  private?: boolean;
}

/** The route of an interaction: its reply, for 15 minutes. */
export function interactionRoute(interaction: BaseInteraction): InteractionRoute {
  return {
    applicationId: interaction.applicationId,
    interactionId: interaction.id,
    interactionToken: interaction.token,
    tokenExpiresAt: interaction.createdTimestamp + INTERACTION_TOKEN_TTL_MS,
    attachmentSizeLimit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
    ...(interaction.isRepliable() && interaction.deferred && interaction.ephemeral ? { private: true } : {}),
  };
}

/** The job's route (checked when the record was read: see routeProblem). */
export function routeOf(job: Pick<JobRecord, 'replyTo'>): InteractionRoute {
  return job.replyTo as unknown as InteractionRoute;
}

/** The same, for a route handed over as it is (a new interaction's). */
export function asRoute(route: ReplyRoute): InteractionRoute {
  return route as unknown as InteractionRoute;
}

/** Why a stored route is not an interaction route, or undefined when it is one (a bad one is quarantined). */
export function routeProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'replyTo: expected an object';
  return firstProblem(v, 'replyTo.', {
    applicationId: [isStr, 'a string'],
    interactionId: [isStr, 'a string'],
    interactionToken: [isStr, 'a string'],
    tokenExpiresAt: [isNum, 'a number'],
    attachmentSizeLimit: [isNum, 'a number'],
    originalMessageId: [optional(isStr), 'a string'],
    uploadTried: [optional((x) => typeof x === 'boolean'), 'true or false'],
    shown: [optional(isStr), 'a string'],
    private: [optional((x) => typeof x === 'boolean'), 'true or false'],
  });
}

/** Whether the interaction token is still good for a reply edit (with a margin, so an upload does not race its end). */
export function tokenUsable(route: InteractionRoute, now: number): boolean {
  return route.interactionToken !== '' && now < route.tokenExpiresAt - TOKEN_MARGIN_MS;
}

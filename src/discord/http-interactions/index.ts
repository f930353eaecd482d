// INTERACTIONS=http as the composition root wires it: the POST /interactions handler over discord.js's client, and
// what /healthz and /metrics say of Discord in place of the gateway.
import type { Client } from 'discord.js';
import { systemClock } from '../../clock.js';
import { newReference } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { GatewayState } from '../../ops/health.js';
import type { RedisScripts } from '../../storage/types.js';
import type { FirstResponses } from '../transport/first-response.js';
import { emitInteraction } from './client.js';
import { interactionEndpoint } from './endpoint.js';
import { LocalReplayGuard, RedisReplayGuard } from './replays.js';
import { discordPublicKey } from './signature.js';

export interface HttpEndpointOptions {
  /** DISCORD_PUBLIC_KEY, hex. */
  publicKey: string;
  responses: FirstResponses;
  logger: Logger;
  /** Storage's Redis, when it is Redis: an interaction replayed to another worker is refused there too. */
  redis?: { client: RedisScripts; prefix: string } | undefined;
  /** False while the bot takes no interactions (starting, shutting down): they are answered 503. */
  accepting(): boolean;
}

/** The handler of POST /interactions: each interaction goes into discord.js's client as the gateway's would. */
export function httpEndpoint(client: Client, opts: HttpEndpointOptions): ReturnType<typeof interactionEndpoint> {
  return interactionEndpoint({
    publicKey: discordPublicKey(opts.publicKey),
    responses: opts.responses,
    clock: systemClock,
    logger: opts.logger,
    replays: opts.redis ? new RedisReplayGuard(opts.redis) : new LocalReplayGuard(() => systemClock.now()),
    dispatch(interaction) {
      if (!opts.accepting()) return false;
      emitInteraction(client, interaction).catch((err: unknown) => opts.logger.error({ err, ref: newReference(), interactionId: interaction.id }, 'interaction handler failed'));
      return true;
    },
  });
}

/** No gateway to be connected to: ready once the bot's user and application were read from Discord. */
export function httpInteractionsState(connected: boolean): GatewayState {
  return connected ? { connected: true } : { connected: false, reason: 'HTTP interactions: not connected to Discord’s API yet' };
}

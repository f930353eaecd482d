// Discord's premium apps, translated for the quota core: an interaction's entitlements and the ENTITLEMENT_* gateway
// events become purchases (src/quota/premium.ts), SKUs the core offers become Premium buttons, and a spent credit pack
// is consumed through Discord's consume endpoint. At start, the SKU ids in .env are checked against the application's.
import {
  ButtonStyle,
  ComponentType,
  Events,
  SKUFlags,
  SKUType,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APISKU,
  type BaseInteraction,
  type Client,
  type Entitlement,
} from 'discord.js';
import type { PremiumConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PackConsumer } from '../quota/credits.js';
import type { Purchase } from '../quota/premium.js';
import { DiscordCodes, discordErrorCode, type DiscordResponder } from './transport/responder.js';

/** An entitlement in the core's words. */
export function purchaseOf(e: Entitlement, deleted = e.deleted): Purchase {
  return {
    id: e.id,
    skuId: e.skuId,
    ...(e.userId ? { userId: e.userId } : {}),
    ...(e.guildId ? { guildId: e.guildId } : {}),
    ...(e.endsTimestamp !== null ? { endsAt: e.endsTimestamp } : {}),
    ...(deleted ? { deleted: true } : {}),
    ...(e.consumed ? { consumed: true } : {}),
  };
}

/** What the member (and the server, in one) hold, as the interaction says. */
export function purchasesOf(interaction: BaseInteraction): Purchase[] {
  return [...interaction.entitlements.values()].map((e) => purchaseOf(e));
}

/**
 * Keeps the core in step with Discord's purchase events: a tier starts (CREATE), ends (UPDATE with `ends_at`) or is
 * taken back (DELETE); a pack is credited, or taken back. `now` reads the clock.
 */
export function listenForPurchases(client: Client, apply: (p: Purchase, now: number) => Promise<void>, logger: Logger, now: () => number): void {
  const take = (p: Purchase, event: string) => {
    apply(p, now()).catch((err: unknown) => logger.warn({ err, purchaseId: p.id, event }, 'premium: could not record a purchase event; the next interaction of its owner brings it in step'));
  };
  client.on(Events.EntitlementCreate, (e) => take(purchaseOf(e), 'ENTITLEMENT_CREATE'));
  client.on(Events.EntitlementUpdate, (_old, e) => take(purchaseOf(e), 'ENTITLEMENT_UPDATE'));
  client.on(Events.EntitlementDelete, (e) => take(purchaseOf(e, true), 'ENTITLEMENT_DELETE'));
}

/** A Premium button for each SKU (style 6: Discord draws it with the SKU's name and price, and opens its store). */
export function premiumButtons(skuIds: readonly string[]): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  if (skuIds.length === 0) return [];
  return [{ type: ComponentType.ActionRow, components: skuIds.slice(0, 5).map((skuId) => ({ type: ComponentType.Button, style: ButtonStyle.Premium, sku_id: skuId })) }];
}

/** Consumes spent credit packs through Discord (POST /applications/{app}/entitlements/{id}/consume). */
export class DiscordPackConsumer implements PackConsumer {
  constructor(
    private readonly discord: Pick<DiscordResponder, 'consumeEntitlement'>,
    private readonly applicationId: () => string | undefined,
    private readonly logger: Logger,
  ) {}

  async consume(purchaseId: string): Promise<void> {
    const app = this.applicationId();
    if (app === undefined) throw new Error('the application id is not known yet');
    try {
      await this.discord.consumeEntitlement(app, purchaseId);
    } catch (err) {
      // Gone (refunded) or not a consumable: trying again changes nothing.
      const code = discordErrorCode(err);
      if (code !== DiscordCodes.UnknownEntitlement && code !== DiscordCodes.NotConsumable) throw err;
      this.logger.warn({ purchaseId, code }, 'premium: Discord would not consume a spent credit pack; it is counted as consumed');
    }
  }
}

const KINDS = {
  user: { type: SKUType.Subscription, flag: SKUFlags.UserSubscription, what: 'a user subscription' },
  guild: { type: SKUType.Subscription, flag: SKUFlags.GuildSubscription, what: 'a guild subscription' },
  pack: { type: SKUType.Consumable, flag: 0, what: 'a consumable' },
} as const;

function describeSku(s: APISKU): string {
  const kind =
    s.type === SKUType.Subscription
      ? (s.flags & SKUFlags.GuildSubscription) !== 0
        ? 'guild subscription'
        : 'user subscription'
      : s.type === SKUType.Consumable
        ? 'consumable'
        : s.type === SKUType.Durable
          ? 'durable'
          : 'subscription group';
  return `${s.id} "${s.name}" (${kind})`;
}

/**
 * What is wrong with the SKU ids in .env, against the application's SKUs: one that is not the application's, or
 * not of the kind its key says. Empty when all is well; the composition root stops the start with them.
 */
export function skuProblems(config: PremiumConfig, skus: readonly APISKU[]): string[] {
  const problems: string[] = [];
  for (const key of ['user', 'guild', 'pack'] as const) {
    const tier = config[key];
    if (!tier) continue;
    const env = `PREMIUM_${key.toUpperCase()}_SKU_ID`;
    const want = KINDS[key];
    const sku = skus.find((s) => s.id === tier.skuId);
    if (!sku) problems.push(`${env} ${tier.skuId} is not an SKU of this application.`);
    else if (sku.type !== want.type || (want.flag !== 0 && (sku.flags & want.flag) === 0)) problems.push(`${env} ${tier.skuId} is ${describeSku(sku)}, not ${want.what}.`);
  }
  if (problems.length === 0) return [];
  const listed = skus.filter((s) => s.type !== SKUType.SubscriptionGroup).map(describeSku);
  return [...problems, listed.length > 0 ? `The application's SKUs: ${listed.join(', ')}.` : 'The application has no SKUs: create them in the developer portal (Monetization → SKUs).'];
}

// The playground's small world: one server ("Playground") with #general, and the two people the page switches
// between — a member, and a server admin (Manage Server, through a role) — and what its Store sells.
import { PermissionFlagsBits } from 'discord-api-types/v10';
import type { FakeDiscordOptions } from '../fakes/discord/server.js';
import type { FakeSkuInput } from '../fakes/discord/server.js';
import type { Person, StoreItem } from './protocol.js';

export const APPLICATION_ID = '1100000000000000001';
export const GUILD_ID = '1200000000000000001';
export const CHANNEL_ID = '1300000000000000001';
const ADMIN_ROLE_ID = '1250000000000000001';
const OWNER_ID = '400000000000000009';

const EVERYONE_PERMISSIONS = (PermissionFlagsBits.SendMessages | PermissionFlagsBits.AttachFiles | PermissionFlagsBits.UseApplicationCommands).toString();
export const MEMBER: Person = { key: 'member', id: '400000000000000001', username: 'alex', displayName: 'Alex', roles: [], permissions: EVERYONE_PERMISSIONS };
const ADMIN: Person = {
  key: 'admin',
  id: '400000000000000002',
  username: 'sam',
  displayName: 'Sam',
  roles: [ADMIN_ROLE_ID],
  permissions: (BigInt(EVERYONE_PERMISSIONS) | PermissionFlagsBits.ManageGuild).toString(),
};
/** The two people the page can switch between. */
export const PEOPLE: readonly Person[] = [MEMBER, ADMIN];

/** The fake Discord the playground runs: its server, channel and admin role; a bot token of its own each run. */
export function playgroundDiscord(token: string): FakeDiscordOptions {
  return {
    token,
    applicationId: APPLICATION_ID,
    applicationName: 'Luma Bot',
    defaultUser: { id: MEMBER.id, username: MEMBER.username, globalName: MEMBER.displayName },
    guilds: [
      {
        id: GUILD_ID,
        name: 'Playground',
        ownerId: OWNER_ID,
        channels: [{ id: CHANNEL_ID, name: 'general' }],
        roles: [{ id: ADMIN_ROLE_ID, name: 'Server admin', permissions: PermissionFlagsBits.ManageGuild.toString() }],
      },
    ],
    skus: STORE_SKUS,
  };
}

/** What the playground's Store sells (store.ts): one SKU of each kind the bot knows. */
export const STORE_ITEMS: ReadonlyArray<StoreItem & { sku: FakeSkuInput }> = [
  { skuId: '1400000000000000001', name: 'Luma Plus', kind: 'user', adds: '+10 images a day for you, everywhere', sku: { id: '1400000000000000001', name: 'Luma Plus', kind: 'user-subscription' } },
  { skuId: '1400000000000000002', name: 'Server Plus', kind: 'guild', adds: '+5 images a day for everyone on Playground', sku: { id: '1400000000000000002', name: 'Server Plus', kind: 'guild-subscription' } },
  { skuId: '1400000000000000003', name: '20 images', kind: 'pack', adds: '20 units of your own, used once your allowance is', sku: { id: '1400000000000000003', name: '20 images', kind: 'consumable' } },
];

/** The SKUs the fake Discord sells. */
export const STORE_SKUS: FakeSkuInput[] = STORE_ITEMS.map((i) => i.sku);

/** The bot's settings for them (what each adds matches the items' words). */
export const PREMIUM_ENV: Readonly<Record<string, string>> = {
  PREMIUM_USER_SKU_ID: '1400000000000000001',
  PREMIUM_USER_UNITS: '10',
  PREMIUM_GUILD_SKU_ID: '1400000000000000002',
  PREMIUM_GUILD_UNITS: '5',
  PREMIUM_PACK_SKU_ID: '1400000000000000003',
  PREMIUM_PACK_UNITS: '20',
};

// @ts-check
// The Store panel: what the bot sells through Discord's store (as SKUs of the fake Discord), bought as the person the
// page shows — a Discord test entitlement, nothing charged — and, for a subscription, cancelled again. Premium buttons
// in the bot's refusals buy through it too.
import { call } from './api.js';
import { $, el, messageOf, toast } from './dom.js';
import { state } from './state.js';

/** Buys (a test entitlement) or cancels a SKU as the person the page shows. @param {'buy' | 'cancel'} what @param {string} skuId */
export async function storeAction(what, skuId) {
  try {
    state.store = await call(what, { skuId });
    renderStore();
  } catch (err) {
    toast(messageOf(err));
  }
}

/** The Store: each SKU, what it adds, and Buy — or, for what the person holds, "owned" (and Cancel for a subscription). */
export function renderStore() {
  const owned = new Set(state.store.owned[state.me] ?? []);
  const kinds = { user: 'subscription, for you', guild: 'subscription, for the server', pack: 'credit pack' };
  $('#store').replaceChildren(
    ...state.store.items.map((item) => {
      const has = owned.has(item.skuId);
      const buy = el('button', { type: 'button', class: 'dbutton premium', disabled: has, onclick: () => storeAction('buy', item.skuId) }, `Buy ${item.name}`);
      const cancel = has && item.kind !== 'pack' ? el('button', { type: 'button', class: 'dbutton secondary', onclick: () => storeAction('cancel', item.skuId) }, 'Cancel') : null;
      return el(
        'li',
        {},
        el('strong', { text: `${item.name} · ${kinds[item.kind]}` }),
        el('span', { class: 'note', text: item.adds }),
        el('span', { class: 'store-actions' }, buy, cancel, has ? el('span', { class: 'owned', text: item.kind === 'pack' ? 'open pack' : 'owned' }) : null),
      );
    }),
  );
}

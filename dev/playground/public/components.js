// @ts-check
// Message components as Discord draws them: action rows of buttons and select menus (under a message of the older
// kind, or inside a layout), and Components V2 layouts (the IS_COMPONENTS_V2 flag): a container with its accent bar,
// text displays in Discord's markdown, media galleries of 1–10 images with their alt text, sections with a thumbnail
// or a button beside their text, separators and files. Pressing a button or choosing in a select sends the
// component interaction through the playground's actions, as Discord's client would.
import { call } from './api.js';
import { el, messageOf, toast } from './dom.js';
import { jumpTarget, markdownBlocks } from './markdown.js';
import { fileLink, media } from './media.js';
import { state } from './state.js';
import { storeAction } from './store.js';

/** @typedef {import('../protocol.js').ViewMessage} ViewMessage */
/** @typedef {import('discord-api-types/v10').APIButtonComponent} APIButtonComponent */
/** @typedef {import('discord-api-types/v10').APIStringSelectComponent} APIStringSelectComponent */
/** @typedef {import('discord-api-types/v10').APIMessageTopLevelComponent} TopLevel */
/** @typedef {import('discord-api-types/v10').APIUnfurledMediaItem} MediaItem */
/**
 * Any component as read here: its type, and the fields of the kinds drawn.
 * @typedef {{ type: number; [field: string]: any }} AnyComponent
 */

/** MessageFlags.IsComponentsV2: the message is its components (no content, no embeds). */
export const IS_COMPONENTS_V2 = 1 << 15;

/** @type {Record<number, string>} */
const BUTTON_STYLES = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'secondary' };

/** The message's text as read aloud and summarised: its text displays, in order. @param {ViewMessage} m */
export function v2Text(m) {
  /** @type {string[]} */
  const out = [];
  /** @param {AnyComponent[]} list */
  const walk = (list) => {
    for (const c of list) {
      if (c.type === 10) out.push(String(c.content ?? ''));
      if (Array.isArray(c.components)) walk(c.components);
    }
  };
  walk(/** @type {AnyComponent[]} */ (m.components ?? []));
  return out.join('\n');
}

/** A V2 message's layout. @param {ViewMessage} m */
export function renderV2(m) {
  return el('div', { class: 'v2' }, .../** @type {AnyComponent[]} */ (m.components ?? []).map((c) => component(m, c)));
}

/** Action rows under a message of the older kind. @param {ViewMessage} m */
export function renderRows(m) {
  const rows = /** @type {AnyComponent[]} */ (m.components ?? []).filter((c) => c.type === 1);
  return el('div', { class: 'components' }, ...rows.map((row) => actionRow(m, row)));
}

/** @param {ViewMessage} m @param {AnyComponent} c @returns {HTMLElement | null} */
function component(m, c) {
  switch (c.type) {
    case 1:
      return actionRow(m, c);
    case 9:
      return section(m, c);
    case 10:
      return el('div', { class: 'v2-text' }, ...markdownBlocks(String(c.content ?? '')));
    case 11:
      return thumbnail(m, c);
    case 12:
      return gallery(m, /** @type {AnyComponent[]} */ (c.items ?? []));
    case 13:
      return file(m, c);
    case 14:
      return el('div', { class: `v2-separator${c.divider === false ? '' : ' divider'}${c.spacing === 2 ? ' large' : ''}`, role: c.divider === false ? undefined : 'separator' });
    case 17:
      return container(m, c);
    default:
      return null;
  }
}

/** A container: a box with the accent colour as a bar on its left. @param {ViewMessage} m @param {AnyComponent} c */
function container(m, c) {
  const box = el('article', { class: `v2-container${c.spoiler ? ' spoiler' : ''}` }, .../** @type {AnyComponent[]} */ (c.components ?? []).map((x) => component(m, x)));
  if (typeof c.accent_color === 'number') box.style.borderLeftColor = `#${c.accent_color.toString(16).padStart(6, '0')}`;
  return box;
}

/** Text beside a thumbnail or a button. @param {ViewMessage} m @param {AnyComponent} c */
function section(m, c) {
  const texts = /** @type {AnyComponent[]} */ (c.components ?? []).map((x) => component(m, x));
  const accessory = /** @type {AnyComponent | undefined} */ (c.accessory);
  const side = accessory?.type === 11 ? thumbnail(m, accessory) : accessory?.type === 2 ? renderButton(m, /** @type {APIButtonComponent} */ (/** @type {unknown} */ (accessory))) : null;
  return el('div', { class: 'v2-section' }, el('div', { class: 'v2-section-text' }, ...texts), side ? el('div', { class: 'v2-accessory' }, side) : null);
}

/**
 * Where a media item's bytes are, and its size: Discord resolves `attachment://name` to the message's attachment
 * (the fake does too); the attachment list is the fallback.
 * @param {ViewMessage} m
 * @param {MediaItem | undefined} item
 */
function resolve(m, item) {
  const url = item?.url ?? '';
  const named = url.startsWith('attachment://') ? m.attachments.find((a) => a.filename === url.slice('attachment://'.length)) : m.attachments.find((a) => a.id === item?.attachment_id);
  return {
    src: (url.startsWith('attachment://') ? (named?.proxy_url ?? named?.url) : (item?.proxy_url ?? url)) ?? '',
    width: item?.width ?? named?.width,
    height: item?.height ?? named?.height,
    name: named?.filename ?? url.split('/').pop()?.split('?')[0] ?? 'file',
    size: named?.size,
  };
}

/** @param {ViewMessage} m @param {AnyComponent} c */
function thumbnail(m, c) {
  const r = resolve(m, c.media);
  return media(r.src, c.description || 'Thumbnail', r.width, r.height, { box: 80 });
}

/** @param {ViewMessage} m @param {AnyComponent} c */
function file(m, c) {
  const r = resolve(m, c.file);
  return fileLink(r.src, r.name, r.size);
}

/**
 * A gallery as Discord lays it out: one image at its own shape; two side by side; three as one large and two
 * stacked; four in a square; more in rows of three. Every cell has its size before its image loads.
 * @param {ViewMessage} m
 * @param {AnyComponent[]} items
 */
function gallery(m, items) {
  const n = Math.min(items.length, 10);
  const cells = items.slice(0, 10).map((item, i) => {
    const r = resolve(m, item.media);
    const alt = item.description || `Image ${i + 1}`;
    const cell = el('div', { class: 'v2-cell' }, media(r.src, alt, r.width, r.height, n === 1 ? {} : { fill: true }));
    if (item.description) cell.append(el('span', { class: 'alt-badge', title: item.description, text: 'ALT' }));
    return cell;
  });
  return el('div', { class: `v2-gallery n${n > 4 ? 'many' : n}`, role: 'group', 'aria-label': n === 1 ? 'Image' : `${n} images` }, ...cells);
}

/** @param {ViewMessage} m @param {AnyComponent} row */
function actionRow(m, row) {
  const node = el('div', { class: 'action-row', role: 'group', 'aria-label': 'Message actions' });
  for (const c of /** @type {AnyComponent[]} */ (row.components ?? [])) {
    if (c.type === 2) node.append(renderButton(m, /** @type {APIButtonComponent} */ (/** @type {unknown} */ (c))));
    else if (c.type === 3) node.append(renderSelect(m, /** @type {APIStringSelectComponent} */ (/** @type {unknown} */ (c))));
  }
  return node;
}

/** A button; a link button to a message jumps to it on this page. @param {ViewMessage} m @param {APIButtonComponent} c */
function renderButton(m, c) {
  const emoji = 'emoji' in c && c.emoji?.name ? el('span', { class: 'emoji', text: c.emoji.name }) : null;
  const label = 'label' in c ? (c.label ?? '') : '';
  if ('url' in c) return el('a', { class: 'dbutton secondary', href: jumpTarget(c.url) }, emoji, `${label} ↗`);
  // A Premium button (style 6) opens Discord's store for its SKU: here, the Store buys it.
  if ('sku_id' in c) {
    const item = state.store.items.find((i) => i.skuId === c.sku_id);
    return el('button', { type: 'button', class: 'dbutton premium', onclick: () => storeAction('buy', c.sku_id) }, `⭐ ${item?.name ?? 'Premium'}`);
  }
  const customId = 'custom_id' in c ? c.custom_id : '';
  const button = el('button', { type: 'button', class: `dbutton ${BUTTON_STYLES[c.style] ?? 'secondary'}`, disabled: c.disabled === true }, emoji, label);
  button.addEventListener('click', () => void interact(button, c.disabled === true, () => call('button', { messageId: m.id, customId })));
  return button;
}

/**
 * Sends a component's interaction with the control held off meanwhile. The bot's answer usually redraws the
 * message first; if it does not, the control works again after a moment.
 * @param {HTMLButtonElement | HTMLSelectElement} control
 * @param {boolean} disabled the component's own state
 * @param {() => Promise<unknown>} send
 */
async function interact(control, disabled, send) {
  control.disabled = true;
  try {
    await send();
  } catch (err) {
    toast(messageOf(err));
  } finally {
    setTimeout(() => {
      control.disabled = disabled;
    }, 1500);
  }
}

/**
 * A string select: the chosen option (or the placeholder) shown, the others a click away. Choosing sends the
 * component interaction (component_type 3) with the values; the bot's answer redraws the message.
 * @param {ViewMessage} m
 * @param {APIStringSelectComponent} c
 */
function renderSelect(m, c) {
  const multiple = (c.max_values ?? 1) > 1;
  const chosen = c.options.filter((o) => o.default);
  const name = c.placeholder ?? chosen[0]?.label.split(':')[0] ?? 'Make a selection';
  const select = el('select', { class: 'dselect', 'aria-label': name, multiple, disabled: c.disabled === true, 'data-custom-id': c.custom_id });
  if (chosen.length === 0 && !multiple) select.append(el('option', { value: '', disabled: true, selected: true, text: c.placeholder ?? 'Make a selection' }));
  for (const o of c.options) {
    const option = el('option', { value: o.value, text: `${o.emoji?.name ? `${o.emoji.name} ` : ''}${o.label}`, title: o.description, selected: o.default === true });
    select.append(option);
  }
  select.addEventListener('change', () => {
    const values = [...select.selectedOptions].map((o) => o.value).filter((v) => v !== '');
    if (values.length < (c.min_values ?? 1)) return;
    void interact(select, c.disabled === true, () => call('select', { messageId: m.id, customId: c.custom_id, values }));
  });
  return select;
}

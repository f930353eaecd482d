// @ts-check
// The message menu (⋯, or a right-click on a message): Apps → the bot's message commands, such as Edit image.
import { call } from './api.js';
import { $, el, messageOf, toast } from './dom.js';
import { allowed } from './draft.js';
import { state } from './state.js';

/** @typedef {import('../protocol.js').ViewMessage} ViewMessage */

const WIDTH = 200;
/** The button that opened the menu: focus goes back to it. @type {HTMLElement | null} */
let opener = null;

/** Opens the menu for `m` at (x, y). @param {ViewMessage} m @param {number} x @param {number} y @param {HTMLElement | null} from */
export function openMenu(m, x, y, from) {
  const menu = $('#menu');
  const apps = state.commands.filter((c) => c.type === 3 && allowed(c));
  const items = apps.map((c) =>
    el('button', {
      type: 'button',
      role: 'menuitem',
      text: c.name,
      onclick: async () => {
        closeMenu();
        try {
          await call('app', { name: c.name, messageId: m.id });
        } catch (err) {
          toast(messageOf(err));
        }
      },
    }),
  );
  menu.replaceChildren(el('div', { class: 'menu-title', id: 'menu-title', text: 'Apps' }), ...(items.length ? items : [el('div', { class: 'menu-title', text: 'No apps' })]));
  menu.setAttribute('aria-labelledby', 'menu-title');
  menu.hidden = false;
  menu.style.left = `${Math.max(8, Math.min(x, window.innerWidth - WIDTH - 8))}px`;
  menu.style.top = `${Math.max(8, Math.min(y, window.innerHeight - menu.offsetHeight - 8))}px`;
  opener = from;
  opener?.setAttribute('aria-expanded', 'true');
  menu.querySelector('button')?.focus();
}

export function closeMenu() {
  const menu = $('#menu');
  if (menu.hidden) return;
  menu.hidden = true;
  opener?.setAttribute('aria-expanded', 'false');
  opener?.focus();
  opener = null;
}

/** Clicks elsewhere close the menu; Escape closes it, the arrow keys move through it. */
export function wireMenu() {
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!$('#menu').contains(target) && !target?.closest('.more')) closeMenu();
  });
  document.addEventListener('keydown', (event) => {
    const menu = $('#menu');
    if (menu.hidden) return;
    const items = [...menu.querySelectorAll('button')];
    const at = items.findIndex((item) => item === document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      closeMenu();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(at + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length]?.focus();
    }
  });
}

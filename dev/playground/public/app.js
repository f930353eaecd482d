// @ts-check
// The playground page: a Discord-like channel. Actions go to the playground server (which turns them into real
// interactions through the fake Discord); what the bot sends comes back over a WebSocket and is drawn as Discord
// draws it. Native ES modules, no framework, no build step, no external requests; types from ../protocol.ts.
import { wireComposer } from './composer.js';
import { call } from './api.js';
import { messageOf, toast } from './dom.js';
import { connect } from './live.js';
import { followScrolling } from './messages.js';
import { wireMenu } from './menu.js';
import { wireModal } from './modal.js';
import { savedTheme, setTheme, switchPlace } from './panels.js';

/** @typedef {import('../protocol.js').ChaosKind} ChaosKind */

function wire() {
  wireComposer();
  wireMenu();
  wireModal();
  followScrolling();
  for (const button of document.querySelectorAll('.channel')) {
    if (!(button instanceof HTMLElement)) continue;
    button.addEventListener('click', () => switchPlace(button.dataset.place === 'dm' ? 'dm' : 'general'));
  }
  for (const button of document.querySelectorAll('[data-chaos]')) {
    if (!(button instanceof HTMLElement)) continue;
    button.addEventListener('click', async () => {
      try {
        await call('chaos', { kind: /** @type {ChaosKind} */ (button.dataset.chaos) });
      } catch (err) {
        toast(messageOf(err));
      }
    });
  }
  for (const button of document.querySelectorAll('[data-theme-choice]')) {
    if (button instanceof HTMLElement) button.addEventListener('click', () => setTheme(button.dataset.themeChoice ?? 'auto'));
  }
  setTheme(savedTheme());
}

wire();
connect();

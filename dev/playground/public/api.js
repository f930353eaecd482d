// @ts-check
// The playground server's API: actions (each becomes what Discord would do) and uploads (files on the fake CDN).
import { state } from './state.js';

/** @typedef {import('../protocol.js').ActionBodies} ActionBodies */
/** @typedef {import('../protocol.js').ActionResults} ActionResults */

/** Fires 'acted' after every action the server accepted: its answer appears at the bottom of the list. */
export const actions = new EventTarget();

/**
 * Performs an action as the person the page shows, where the page is.
 * @template {import('../protocol.js').ActionName} K
 * @param {K} action
 * @param {Omit<ActionBodies[K], 'as' | 'place'>} body
 * @returns {Promise<ActionResults[K]>}
 */
export async function call(action, body) {
  const response = await fetch(`/api/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ as: state.me, place: state.place, ...body }),
  });
  const result = await answer(response, `${action} failed`);
  actions.dispatchEvent(new Event('acted'));
  return result;
}

/** Puts a file on the fake CDN; resolves with its attachment. @param {File} file @returns {Promise<import('../protocol.js').UploadResult>} */
export async function upload(file) {
  const response = await fetch(`/api/upload?filename=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
  return answer(response, 'upload failed');
}

/**
 * The JSON answer, or an Error with the server's explanation.
 * @param {Response} response
 * @param {string} what
 * @returns {Promise<any>}
 */
async function answer(response, what) {
  /** @type {unknown} */
  const result = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = typeof result === 'object' && result !== null && 'error' in result ? String(result.error) : `${what} (${response.status})`;
    throw new Error(error);
  }
  return result;
}

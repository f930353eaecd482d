// @ts-check
// DOM helpers for the playground page: find an element (or fail loudly), build one, show a toast.

/**
 * The element matching `selector`, of the expected kind.
 * @template {Element} [T=HTMLElement]
 * @param {string} selector
 * @param {{ new (): T; prototype: T }} [kind] e.g. HTMLTextAreaElement
 * @returns {T}
 */
export function $(selector, kind) {
  const node = document.querySelector(selector);
  if (!node || !(node instanceof (kind ?? HTMLElement))) throw new Error(`the page has no ${selector}`);
  return /** @type {T} */ (node);
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * Builds an element: `attrs` sets attributes (`class`, `text` for the text, `on…` for listeners; undefined, null and
 * false leave one out, true sets it empty), then the children are appended (nested arrays are flattened).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** A short notice in the corner, gone after 6 s. @param {string} text */
export function toast(text) {
  const node = el('div', { class: 'toast', text });
  $('#toasts').append(node);
  setTimeout(() => node.remove(), 6000);
}

/** The message of anything thrown. @param {unknown} err */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

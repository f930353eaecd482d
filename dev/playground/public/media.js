// @ts-check
// Images and files in messages: an image keeps the space its size asks for before it loads (so the list does not
// jump), opens full size on click, and shows its alt text; other files are links.
import { $, el } from './dom.js';

/** Images are drawn at most this wide and tall, as in Discord's client. */
export const MEDIA_BOX = 400;

/** Fires 'loaded' when an image in the list has loaded (the list may have grown). */
export const mediaEvents = new EventTarget();

/**
 * An image with its space reserved from the size Discord gave, which opens full size on click. With `fill`, it
 * fills a cell of a gallery (cropped to the cell, as Discord's galleries do) instead of keeping its own shape.
 * @param {string} src
 * @param {string} alt
 * @param {number | null | undefined} width
 * @param {number | null | undefined} height
 * @param {{ fill?: boolean; box?: number }} [how]
 */
export function media(src, alt, width, height, how = {}) {
  const img = el('img', { class: `media${how.fill ? ' fill' : ''}`, src, alt, width, height });
  if (width && height && !how.fill) {
    const box = how.box ?? MEDIA_BOX;
    const scale = Math.min(1, box / width, box / height);
    img.style.width = `${Math.round(width * scale)}px`;
    img.style.aspectRatio = `${width} / ${height}`;
  }
  img.addEventListener('load', () => mediaEvents.dispatchEvent(new Event('loaded')));
  return el('button', { type: 'button', class: `media-open${how.fill ? ' fill' : ''}`, 'aria-label': `Open ${alt} full size`, onclick: () => openViewer(src, alt) }, img);
}

/** A file that is not an image (a CSV, say): a link that opens or downloads it. @param {string} url @param {string} name @param {number | undefined} size */
export function fileLink(url, name, size) {
  const label = size === undefined ? name : `${name} (${Math.ceil(size / 1024)} KB)`;
  return el('a', { class: 'file', href: url, download: name, target: '_blank', rel: 'noreferrer' }, el('span', { class: 'icon file-icon', 'aria-hidden': 'true' }), el('span', { text: label }));
}

/** Shows an image at its own size in a dialog, with a link to the file itself. @param {string} src @param {string} alt */
export function openViewer(src, alt) {
  const viewer = $('#viewer', HTMLDialogElement);
  const image = $('#viewer-image', HTMLImageElement);
  image.src = src;
  image.alt = alt;
  $('#viewer-link', HTMLAnchorElement).href = src;
  viewer.showModal();
}

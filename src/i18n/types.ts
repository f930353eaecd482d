import type { en } from './catalogues/en.js';

export type MessageKey = keyof typeof en;
/** A language with a text for every English key (a translation's JSON file, completed with English: index.ts). */
export type Catalogue = { readonly [K in MessageKey]: string };

import type { en } from './catalogues/en.js';

export type MessageKey = keyof typeof en;
/** Every other language has exactly English's keys (the compiler and test/i18n check it). */
export type Catalogue = { readonly [K in MessageKey]: string };

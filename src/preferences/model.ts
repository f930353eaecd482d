import { ASPECT_RATIOS, MODELS, OUTPUT_FORMATS, PORTRAIT_RATIOS, STYLES, type AspectRatio, type Model, type OutputFormat, type Style } from '../luma/types.js';
import { MAX_IMAGES_PER_REQUEST } from '../jobs/create.js';
import type { DefaultedChoice } from '../jobs/types.js';

/** Where a member's results go: the channel (public), or a reply only they see (private). */
export type Visibility = 'public' | 'private';

/**
 * Defaults for what a request leaves out, a member's own (/settings) or a server's (`/bot-admin defaults`). Each
 * field is either set or absent; `aspectRatio: 'auto'` and `outputFormat: 'auto'` are set, to "the model picks".
 */
export interface ImageDefaults {
  model?: Model;
  aspectRatio?: AspectRatio | 'auto';
  style?: Style;
  outputFormat?: OutputFormat | 'auto';
  count?: number;
  webSearch?: boolean;
  visibility?: Visibility;
}

/** What a server decides for its members: its defaults, and what they may ask for where its quota pays. */
export interface ServerImageSettings {
  v: 1;
  defaults: ImageDefaults;
  /** Whether members may use uni-1-max on this server. */
  allowMax: boolean;
  /** The most images one request may ask for on this server (1–4). */
  maxCount: number;
}

/** Every choice of an image request, resolved. */
export interface Choices {
  model: Model;
  aspectRatio: AspectRatio | null;
  style: Style;
  outputFormat: OutputFormat | null;
  count: number;
  webSearch: boolean;
  visibility: Visibility;
}

/** What nothing else decides. */
export const BUILT_IN: Choices = { model: 'uni-1', aspectRatio: null, style: 'auto', outputFormat: null, count: 1, webSearch: false, visibility: 'public' };

const has = <T extends string>(list: readonly T[], v: unknown): v is T => (list as readonly unknown[]).includes(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_IMAGES_PER_REQUEST;

/** Keeps only well-formed fields, so a hand-edited or older record cannot break a member's every request. */
export function normalizeDefaults(raw: unknown): ImageDefaults {
  const d: ImageDefaults = {};
  if (typeof raw !== 'object' || raw === null) return d;
  const r = raw as Record<string, unknown>;
  if (has(MODELS, r.model)) d.model = r.model;
  if (has(ASPECT_RATIOS, r.aspectRatio) || r.aspectRatio === 'auto') d.aspectRatio = r.aspectRatio;
  if (has(STYLES, r.style)) d.style = r.style;
  if (has(OUTPUT_FORMATS, r.outputFormat) || r.outputFormat === 'auto') d.outputFormat = r.outputFormat;
  if (isCount(r.count)) d.count = r.count;
  if (typeof r.webSearch === 'boolean') d.webSearch = r.webSearch;
  if (r.visibility === 'public' || r.visibility === 'private') d.visibility = r.visibility;
  return d;
}

export function defaultServerSettings(): ServerImageSettings {
  return { v: 1, defaults: {}, allowMax: true, maxCount: MAX_IMAGES_PER_REQUEST };
}

export function normalizeServerSettings(raw: unknown): ServerImageSettings {
  const s = defaultServerSettings();
  if (typeof raw !== 'object' || raw === null) return s;
  const r = raw as Record<string, unknown>;
  s.defaults = normalizeDefaults(r.defaults);
  if (typeof r.allowMax === 'boolean') s.allowMax = r.allowMax;
  if (isCount(r.maxCount)) s.maxCount = r.maxCount;
  return s;
}

type Explicit = { [K in keyof Choices]?: Choices[K] | undefined };

/**
 * Every choice of a request: what the member typed wins, then their own /settings, then the server's defaults,
 * then the bot's. Says which choices came from settings, for the result line. A style of manga wants a portrait
 * ratio: a default ratio that is not one gives way to 2:3 (a typed one is refused by the command).
 */
export function resolveChoices(explicit: Explicit, member: ImageDefaults, server: ImageDefaults): { choices: Choices; fromSettings: { member: DefaultedChoice[]; server: DefaultedChoice[] } } {
  const fromSettings = { member: [] as DefaultedChoice[], server: [] as DefaultedChoice[] };
  const pick = <K extends keyof Choices>(key: K, field: DefaultedChoice, convert: (v: NonNullable<ImageDefaults[keyof ImageDefaults]>) => Choices[K]): Choices[K] => {
    const typed = explicit[key];
    if (typed !== undefined) return typed;
    const own = member[key as keyof ImageDefaults];
    if (own !== undefined) {
      fromSettings.member.push(field);
      return convert(own);
    }
    const theirs = server[key as keyof ImageDefaults];
    if (theirs !== undefined) {
      fromSettings.server.push(field);
      return convert(theirs);
    }
    return BUILT_IN[key];
  };
  const same = <T>(v: unknown) => v as T;
  const choices: Choices = {
    model: pick('model', 'model', same),
    aspectRatio: pick('aspectRatio', 'aspectRatio', (v) => (v === 'auto' ? null : (v as AspectRatio))),
    style: pick('style', 'style', same),
    outputFormat: pick('outputFormat', 'outputFormat', (v) => (v === 'auto' ? null : (v as OutputFormat))),
    count: pick('count', 'count', same),
    webSearch: pick('webSearch', 'webSearch', same),
    visibility: pick('visibility', 'visibility', same),
  };
  if (choices.style === 'manga' && explicit.aspectRatio === undefined && (choices.aspectRatio === null || !PORTRAIT_RATIOS.includes(choices.aspectRatio))) choices.aspectRatio = '2:3';
  return { choices, fromSettings };
}

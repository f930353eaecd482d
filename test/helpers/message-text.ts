// What a member reads in a message, whatever its form: its content, its embeds' text, and (Components V2) its text
// displays; and what it shows and offers: gallery images, button custom_ids.
import type { APIMessage } from 'discord.js';

type Walked = { texts: string[]; media: string[]; customIds: string[]; labels: string[] };

function walk(value: unknown, into: Walked): void {
  if (Array.isArray(value)) return value.forEach((v) => walk(v, into));
  if (typeof value !== 'object' || value === null) return;
  const c = value as { type?: unknown; content?: unknown; custom_id?: unknown; label?: unknown; items?: unknown; components?: unknown; component?: unknown; accessory?: unknown };
  if (c.type === 2 && typeof c.label === 'string') into.labels.push(c.label);
  if (c.type === 10 && typeof c.content === 'string') into.texts.push(c.content);
  if (typeof c.custom_id === 'string') into.customIds.push(c.custom_id);
  if (c.type === 12 && Array.isArray(c.items)) for (const i of c.items as Array<{ media?: { url?: string } }>) into.media.push(i.media?.url ?? '');
  walk(c.components, into);
  walk(c.component, into);
  walk(c.accessory, into);
}

function walked(m: Pick<APIMessage, 'components'> | { components?: unknown }): Walked {
  const into: Walked = { texts: [], media: [], customIds: [], labels: [] };
  walk(m.components, into);
  return into;
}

/** Every text of the message, joined by new lines. */
export function messageText(m: Pick<APIMessage, 'content' | 'embeds' | 'components'> | undefined): string {
  if (!m) return '';
  const embeds = (m.embeds ?? []).flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text]);
  return [m.content, ...embeds, ...walked(m).texts].filter((x): x is string => typeof x === 'string' && x !== '').join('\n');
}

/** The custom_ids of every button and select of the message, nested ones included. */
export function customIdsOf(m: { components?: unknown } | undefined): string[] {
  return m ? walked(m).customIds : [];
}

/** The URLs of the images its media galleries show, in order. */
export function galleryOf(m: { components?: unknown } | undefined): string[] {
  return m ? walked(m).media : [];
}

/** The labels of every button of the message, in order. */
export function buttonLabels(m: { components?: unknown } | undefined): string[] {
  return m ? walked(m).labels : [];
}

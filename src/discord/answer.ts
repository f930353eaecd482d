// A job's answer as the member sees it, in Components V2: one container per message — the prompt and its line as
// text, the images in a media gallery, the buttons inside. One image or several (a request for `count`), made,
// failed or still on their way; the files are uploaded with the message and named by `attachment://`.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, ComponentType, ContainerBuilder, MediaGalleryBuilder, TextDisplayBuilder, type APIMessageTopLevelComponent } from 'discord.js';
import { t, tn } from '../i18n/index.js';
import { failureText } from '../jobs/failures.js';
import type { DefaultedChoice, JobRecord } from '../jobs/types.js';
import { CustomIds } from './custom-ids.js';
import { formatDuration, memberLocale, publicLocale, quotePrompt, truncate } from './render.js';
import type { OutgoingFile, OutgoingMessage } from './transport/responder.js';

export const BRAND_COLOUR = 0x7c3aed;
export const FAILURE_COLOUR = 0xdc2626;
/** Alt text of a gallery item: Discord takes 1,024 characters. */
const ALT_TEXT_MAX = 1024;
/** The prompt as the answer shows it: room is left for the line and the images' notes within 4,000 characters. */
const PROMPT_MAX = 1500;

/** One image's place in an answer: in the message (its file), failed, or still being made. */
export type Slot = { kind: 'shown'; job: JobRecord; filename: string } | { kind: 'failed'; job: JobRecord } | { kind: 'pending' };

export interface Answer {
  /** An image of the request: its prompt, settings and who asked are the answer's text. */
  job: JobRecord;
  /** Every image the request asked for, in order. */
  slots: Slot[];
  /** Posted in the channel or a DM (the reply could not be used): the member is named and pinged. */
  mention?: boolean;
  /** An image shown re-encoded to fit Discord's upload limit. */
  compressed?: boolean;
  /** An image of several, sent on its own (the reply could not be edited any more): which one. */
  part?: { index: number; of: number };
  /** Said first instead of "your image is ready" (a kept result handed over). */
  intro?: string;
  /** Without its buttons (a kept result shown privately somewhere else). */
  noButtons?: boolean;
}

const neutralize = (text: string) => text.replace(/@(everyone|here)/g, '@\u200b$1');

function title(job: JobRecord, locale: string | undefined): string {
  const action = job.display.action;
  if (action === 'vary') return `🔀 ${t(locale, 'result.title.vary')}`;
  if (action === 'enhance') return `✨ ${t(locale, 'result.title.enhance')}`;
  return job.kind === 'edit' ? `✏️ ${t(locale, 'result.title.edit')}` : `🎨 ${t(locale, 'result.title.imagine')}`;
}

/** The name of each choice a request can take from settings, as the result line and the settings view say it. */
export const CHOICE_LABEL: Record<DefaultedChoice, 'result.model' | 'result.aspectRatio' | 'result.style' | 'result.format' | 'result.images' | 'result.webSearch' | 'result.visibility'> = {
  model: 'result.model',
  aspectRatio: 'result.aspectRatio',
  style: 'result.style',
  outputFormat: 'result.format',
  count: 'result.images',
  webSearch: 'result.webSearch',
  visibility: 'result.visibility',
};

/** The line under the prompt: model, ratio, style, who asked, how long, references, and what came from settings. */
export function resultLine(job: JobRecord, locale: string | undefined, opts: { took?: boolean } = {}): string {
  const d = job.display;
  const parts = [`${t(locale, 'result.model')}: ${d.model}`];
  if (job.kind === 'imagine') parts.push(`${t(locale, 'result.aspectRatio')}: ${d.aspectRatio ?? t(locale, 'result.auto')}`);
  parts.push(`${t(locale, 'result.style')}: ${d.style}`, `${t(locale, 'result.requestedBy')}: <@${job.requester.userId}>`);
  if (opts.took !== false && job.completedAt !== undefined) parts.push(`${t(locale, 'result.took')}: ${formatDuration(job.completedAt - job.createdAt)}`);
  if (d.references > 0) parts.push(`${t(locale, 'result.references')}: ${d.references}`);
  if (d.webSearch) parts.push(`${t(locale, 'result.webSearch')}: ${t(locale, 'result.on')}`);
  if (d.sourceLink) parts.push(`${t(locale, 'result.editedFrom')}: ${d.sourceLink}`);
  const lines = [`-# ${parts.join(' · ')}`];
  const named = (list: readonly DefaultedChoice[]) => list.map((c) => t(locale, CHOICE_LABEL[c])).join(', ');
  if (d.fromSettings?.member.length) lines.push(`-# ⚙️ ${t(locale, 'result.fromSettings', { choices: named(d.fromSettings.member) })}`);
  if (d.fromSettings?.server.length) lines.push(`-# ⚙️ ${t(locale, 'result.fromServer', { choices: named(d.fromSettings.server) })}`);
  return lines.join('\n');
}

/** The buttons under the images: per image Vary, Edit and Enhance (not for a uni-1-max image); Reroll; Retry per failed one. */
function buttons(a: Answer, locale: string | undefined): ActionRowBuilder<ButtonBuilder>[] {
  const many = a.slots.length > 1;
  const label = (key: 'result.vary' | 'result.edit' | 'result.enhance' | 'failure.retry', n: number) => (many ? t(locale, 'result.buttonN', { action: t(locale, key), n }) : t(locale, key));
  const button = (id: string, text: string, emoji: string, style = ButtonStyle.Secondary) => new ButtonBuilder().setCustomId(id).setLabel(text).setEmoji({ name: emoji }).setStyle(style);
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  const last: ButtonBuilder[] = [];
  a.slots.forEach((slot, i) => {
    if (slot.kind === 'failed' && slot.job.failure?.retryable) last.push(button(CustomIds.retry(slot.job.id), label('failure.retry', i + 1), '🔁'));
    if (slot.kind !== 'shown' || !slot.job.generationId) return;
    const row = [button(CustomIds.vary(slot.job.id), label('result.vary', i + 1), '🔀'), button(CustomIds.edit(slot.job.id), label('result.edit', i + 1), '✏️', ButtonStyle.Primary)];
    if (slot.job.request.model !== 'uni-1-max') row.push(button(CustomIds.enhance(slot.job.id), label('result.enhance', i + 1), '✨'));
    if (many) rows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(row));
    else last.unshift(...row);
  });
  const shown = a.slots.find((s): s is Extract<Slot, { kind: 'shown' }> => s.kind === 'shown');
  if (shown && !a.part) last.splice(many ? 0 : last.length, 0, button(CustomIds.reroll(shown.job.id), t(locale, 'result.reroll'), '🎲'));
  if (last.length > 0) rows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(last.slice(0, 5)));
  return rows;
}

/** The answer's text: title (with how many are ready), who it is for, the prompt, the line, and each image's news. */
function answerText(a: Answer, locale: string | undefined): { head: string; notes: string } {
  const { job, slots } = a;
  const shown = slots.filter((s) => s.kind === 'shown').length;
  const failed = slots.filter((s) => s.kind === 'failed');
  const pending = slots.filter((s) => s.kind === 'pending').length;
  const allFailed = failed.length === slots.length;
  let heading = allFailed ? `⚠️ ${t(locale, slots.length > 1 ? 'failure.title.many' : job.kind === 'edit' ? 'failure.title.edit' : 'failure.title.imagine')}` : title(job, locale);
  if (a.part) heading += ` · ${t(locale, 'result.part', { n: a.part.index + 1, count: a.part.of })}`;
  else if (slots.length > 1 && !allFailed) heading += ` · ${t(locale, 'result.count', { ready: shown, count: slots.length })}`;
  const user = `<@${job.requester.userId}>`;
  const ready = a.part ? t(locale, 'result.readyPart', { user, n: a.part.index + 1, count: a.part.of }) : t(locale, 'result.ready', { user });
  const mention = a.intro !== undefined ? `${a.intro}\n` : a.mention && !allFailed ? `${ready}\n` : '';
  const head = `${mention}### ${heading}\n${truncate(neutralize(job.display.prompt), PROMPT_MAX)}\n${resultLine(job, locale, { took: slots.length === 1 })}`;
  const notes: string[] = [];
  for (const [i, slot] of slots.entries()) {
    if (slot.kind !== 'failed') continue;
    const f = slot.job.failure;
    const why = f ? failureText(locale, f) : t(locale, 'failure.generic');
    const ref = f?.ref ? ` ${t(locale, 'failure.reference', { ref: f.ref })}` : '';
    notes.push(slots.length > 1 ? `⚠️ **${t(locale, 'result.imageN', { n: i + 1 })}:** ${truncate(why, 500)}${ref}` : `${why}${ref}`);
  }
  if (pending > 0) notes.push(tn(locale, 'result.pending', pending));
  const footer = [a.compressed ? t(locale, 'result.compressed') : '', slots.length === 1 ? `job ${job.id}` : ''].filter((x) => x !== '').join(' · ');
  if (footer !== '') notes.push(`-# ${footer}`);
  return { head, notes: notes.join('\n') };
}

/**
 * The answer as a V2 message: the container (accent red when nothing of it could be made), the files to upload
 * with it, and (for an edit) the attachments it keeps. A message naming the member (`mention`) may ping only them.
 */
export function answerMessage(a: Answer, files: OutgoingFile[], keep: readonly string[] = []): OutgoingMessage {
  const locale = publicLocale(a.job);
  const { head, notes } = answerText(a, locale);
  const allFailed = a.slots.every((s) => s.kind === 'failed');
  const container = new ContainerBuilder().setAccentColor(allFailed ? FAILURE_COLOUR : BRAND_COLOUR).addTextDisplayComponents(new TextDisplayBuilder().setContent(head));
  const shown = a.slots.filter((s): s is Extract<Slot, { kind: 'shown' }> => s.kind === 'shown');
  if (shown.length > 0) {
    const alt = truncate(a.job.display.prompt, ALT_TEXT_MAX);
    container.addMediaGalleryComponents(new MediaGalleryBuilder().addItems(...shown.map((s) => ({ media: { url: `attachment://${s.filename}` }, description: alt }))));
  }
  if (notes !== '') container.addTextDisplayComponents(new TextDisplayBuilder().setContent(notes));
  const rows = a.noButtons ? [] : buttons(a, locale);
  if (rows.length > 0) container.addActionRowComponents(...rows);
  const userId = a.job.requester.userId;
  return { v2: true, components: [container.toJSON()], files, keep, replaceAttachments: true, ...(a.mention ? { allowedUserMentions: [userId] } : {}) };
}

/**
 * A message Discord refused (a 400) in its plainest form, sent once more so the images still arrive: its text and
 * gallery without container or buttons in an edit of the reply (which may be V2 already, and must then stay so);
 * plain text with the files in a new message, as before Components V2.
 */
export function plainMessage(msg: OutgoingMessage, kind: 'edit' | 'post'): OutgoingMessage {
  const texts: string[] = msg.content ? [msg.content] : [];
  const items: Array<{ media: { url: string } }> = [];
  const walk = (c: unknown): void => {
    if (Array.isArray(c)) return c.forEach(walk);
    if (typeof c !== 'object' || c === null) return;
    const o = c as { type?: unknown; content?: unknown; items?: unknown; components?: unknown };
    if (o.type === ComponentType.TextDisplay && typeof o.content === 'string') texts.push(o.content);
    if (o.type === ComponentType.MediaGallery && Array.isArray(o.items)) for (const i of o.items as Array<{ media: { url: string } }>) items.push({ media: { url: i.media.url } });
    walk(o.components);
  };
  walk(msg.components);
  const text = texts.join('\n');
  const base = { files: msg.files ?? [], replaceAttachments: true, ...(msg.allowedUserMentions ? { allowedUserMentions: msg.allowedUserMentions } : {}) };
  if (kind === 'post') return { ...base, content: truncate(text, 2000), embeds: [], components: [] };
  const components: APIMessageTopLevelComponent[] = [new TextDisplayBuilder().setContent(truncate(text, 3000)).toJSON()];
  if (items.length > 0) components.push(new MediaGalleryBuilder().addItems(...items).toJSON());
  return { ...base, v2: true, components, keep: msg.keep ?? [] };
}

/** The progress line in the reply, in the answer's look: the text only (see render.ts progressText). */
export function progressMessage(text: string): OutgoingMessage {
  return { v2: true, components: [new ContainerBuilder().setAccentColor(BRAND_COLOUR).addTextDisplayComponents(new TextDisplayBuilder().setContent(text)).toJSON()] };
}

/**
 * The failure notice of a job of one image: in the member's language in their own reply, in the server's when
 * posted in the channel or sent by DM (`public`), with the prompt quoted under it; a Retry button when it may be
 * retried.
 */
export function failureMessage(job: JobRecord, opts: { public?: boolean } = {}): OutgoingMessage {
  const locale = opts.public ? publicLocale(job) : memberLocale(job);
  const f = job.failure;
  const text = f ? failureText(locale, f) : t(locale, 'failure.generic');
  const ref = f?.ref ? `\n${t(locale, 'failure.reference', { ref: f.ref })}` : '';
  const heading = t(locale, job.kind === 'edit' ? 'failure.title.edit' : 'failure.title.imagine');
  const mention = opts.public ? `<@${job.requester.userId}>\n` : '';
  const container = new ContainerBuilder()
    .setAccentColor(FAILURE_COLOUR)
    .addTextDisplayComponents(new TextDisplayBuilder().setContent(`${mention}### ⚠️ ${heading}\n${text}${ref}\n-# ${t(locale, 'failure.prompt')}: ${quotePrompt(job.display.prompt, 1000) || '—'}\n-# job ${job.id}`));
  if (f?.retryable) {
    container.addActionRowComponents(new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId(CustomIds.retry(job.id)).setLabel(t(locale, 'failure.retry')).setEmoji({ name: '🔁' }).setStyle(ButtonStyle.Primary)));
  }
  return { v2: true, components: [container.toJSON()], replaceAttachments: true, ...(opts.public ? { allowedUserMentions: [job.requester.userId] } : {}) };
}

// The images a Discord message holds, for "Edit image": its attachments, then the images of its embeds. Works
// on both shapes a message arrives in — the discord.js Message of a context-menu interaction and the raw
// APIMessage of a REST fetch — through one small snapshot type.
import type { APIEmbed, APIMessage, Message } from 'discord.js';
import { fromAttachment, isAllowedOrigin, isSupportedImage, type ImageCandidate } from './attachments.js';
import { JOB_ID_PATTERN, jobIdOfButton } from './custom-ids.js';

interface SnapshotAttachment extends ImageCandidate {
  /** The media-proxy copy of the attachment (same path as `url`). */
  proxyUrl: string | undefined;
}

/** What "Edit image" needs to know about a message, whichever way it was obtained. */
export interface MessageSnapshot {
  id: string;
  channelId: string;
  authorId: string;
  applicationId: string | null;
  webhookId: string | null;
  content: string;
  attachments: SnapshotAttachment[];
  embeds: APIEmbed[];
  /** Components as JSON (only custom_ids are read). */
  components: unknown[];
}

export function fromApiMessage(m: APIMessage): MessageSnapshot {
  return {
    id: m.id,
    channelId: m.channel_id,
    authorId: m.author.id,
    applicationId: m.application_id ?? null,
    webhookId: m.webhook_id ?? null,
    content: m.content,
    attachments: m.attachments.map((a) => ({
      url: a.url,
      filename: a.filename,
      contentType: a.content_type,
      size: a.size,
      proxyUrl: a.proxy_url,
    })),
    embeds: m.embeds,
    components: m.components ?? [],
  };
}

export function fromDiscordMessage(m: Message): MessageSnapshot {
  return {
    id: m.id,
    channelId: m.channelId,
    authorId: m.author.id,
    applicationId: m.applicationId,
    webhookId: m.webhookId,
    content: m.content,
    attachments: [...m.attachments.values()].map((a) => ({ ...fromAttachment(a), proxyUrl: a.proxyURL })),
    embeds: m.embeds.map((e) => e.data),
    components: m.components.map((c) => c.toJSON()),
  };
}

/**
 * The images of a message that Luma can take, in the order a member sees them: attachments first, then embed
 * images. An embed image is only ever taken through its Discord media-proxy copy (`proxy_url`) on one of the
 * allowed origins — never from the embed's own host, which anyone who posts a link controls. An embed that
 * merely shows one of the message's attachments is not counted twice.
 */
export function imagesIn(message: MessageSnapshot, origins: readonly string[]): ImageCandidate[] {
  const images: ImageCandidate[] = [];
  const seen = new Set<string>();
  for (const a of message.attachments) {
    for (const u of [a.url, a.proxyUrl]) if (u) seen.add(pathOf(u));
    const candidate: ImageCandidate = { url: a.url, filename: a.filename, contentType: a.contentType, size: a.size };
    if (isSupportedImage(candidate) && isAllowedOrigin(a.url, origins)) images.push(candidate);
  }
  for (const embed of message.embeds) {
    // A video's thumbnail is a poster frame, not an image the member posted.
    const isVideo = embed.type === 'video' || embed.type === 'gifv' || embed.video !== undefined;
    for (const media of isVideo ? [embed.image] : [embed.image, embed.thumbnail]) {
      const proxy = media?.proxy_url;
      if (!media || !proxy || !isAllowedOrigin(proxy, origins)) continue;
      const key = pathOf(proxy);
      if (seen.has(key) || seen.has(pathOf(media.url))) continue;
      seen.add(key);
      const candidate: ImageCandidate = { url: proxy, filename: filenameOf(media.url), contentType: media.content_type, size: undefined };
      if (isSupportedImage(candidate)) images.push(candidate);
    }
  }
  return images;
}

/** Whether the bot (this application) posted the message: its own messages and its interaction responses. */
export function isOwnMessage(message: MessageSnapshot, applicationId: string): boolean {
  return message.authorId === applicationId || message.applicationId === applicationId || message.webhookId === applicationId;
}

const JOB_FOOTER = new RegExp(`^job (${JOB_ID_PATTERN})(?: |$)`);
/** The footer's line in a result Discord took only in plain form (render.ts `plainMessage`): `-# job <id>`. */
const PLAIN_JOB_FOOTER = new RegExp(`^-# job (${JOB_ID_PATTERN})(?: |$)`, 'gm');

const RESULT_FILE = new RegExp(`^luma-(${JOB_ID_PATTERN})\\.(?:png|jpg|webp)$`);

/** The job of a bot result's image, by its file's name (`luma-<job id>.png`): each image of a gallery names its own. */
export function jobIdOfFile(filename: string): string | undefined {
  return RESULT_FILE.exec(filename)?.[1];
}

/**
 * The job id a bot result carries: in its buttons' custom_ids (`job:edit:<id>`), its embed footer (`job <id>`), or
 * for a result sent in plain form the last line of that footer in its text. A message that carries none is not
 * edited as a result.
 */
export function jobIdIn(message: MessageSnapshot): string | undefined {
  const fromComponents = findCustomId(message.components);
  if (fromComponents) return fromComponents;
  for (const embed of message.embeds) {
    const m = JOB_FOOTER.exec(embed.footer?.text ?? '');
    if (m?.[1]) return m[1];
  }
  // The last such line: the footer comes after the prompt, which a member wrote (in the text, or in a V2 text display).
  const text = [message.content, ...textDisplays(message.components)].join('\n');
  return [...text.matchAll(PLAIN_JOB_FOOTER)].at(-1)?.[1];
}

/** The texts of a V2 message's text displays, nested ones included. */
function textDisplays(components: unknown): string[] {
  if (Array.isArray(components)) return components.flatMap(textDisplays);
  if (typeof components !== 'object' || components === null) return [];
  const c = components as { type?: unknown; content?: unknown; components?: unknown };
  return [...(c.type === 10 && typeof c.content === 'string' ? [c.content] : []), ...textDisplays(c.components)];
}

function findCustomId(components: unknown): string | undefined {
  if (Array.isArray(components)) {
    for (const c of components) {
      const found = findCustomId(c);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof components !== 'object' || components === null) return undefined;
  const c = components as { custom_id?: unknown; components?: unknown; component?: unknown; accessory?: unknown };
  const fromButton = typeof c.custom_id === 'string' ? jobIdOfButton(c.custom_id) : undefined;
  if (fromButton !== undefined) return fromButton;
  return findCustomId(c.components) ?? findCustomId(c.component) ?? findCustomId(c.accessory);
}

/** A jump link to a message, as Discord builds it (`@me` outside servers). */
export function messageLink(guildId: string | null, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId ?? '@me'}/${channelId}/${messageId}`;
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function filenameOf(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').pop() ?? '';
    return decodeURIComponent(last) || 'embed image';
  } catch {
    return 'embed image';
  }
}

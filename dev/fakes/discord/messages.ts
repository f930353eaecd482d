// Messages as the fake keeps them, and the rules Discord applies when one is created or edited:
// payload limits, attachment bookkeeping (`attachments` + `files[n]`), flags, rendering with fresh CDN URLs.
import { MessageFlags, type APIAttachment, type APIEmbed, type APIMessage, type APIUser } from 'discord-api-types/v10';
import type { AttachmentRecord, FakeCdn } from './cdn.js';
import { checkAttachmentReferences, checkComponents, checkV2Fields, isV2 } from './components.js';
import type { UploadedFile } from './multipart.js';

/** An attachment the fake holds bytes for (by id), or a foreign one a test supplied as a plain object. */
export type MessageAttachment = string | APIAttachment;

export interface MessageRecord {
  id: string;
  channelId: string;
  author: APIUser;
  content: string;
  embeds: APIEmbed[];
  components: unknown[];
  attachments: MessageAttachment[];
  flags: number;
  type: number;
  tts: boolean;
  timestamp: string;
  editedTimestamp: string | null;
  webhookId: string | undefined;
  applicationId: string | undefined;
  interactionMetadata: Record<string, unknown> | undefined;
  /** Fields stored verbatim (message_reference, poll, ...). */
  extra: Record<string, unknown>;
  /** Who made it: the bot with its token, an interaction response/followup, or the test itself. */
  source: 'bot' | 'interaction' | 'test';
  /** Set by DELETE; a deleted message reads as 10008 Unknown Message. */
  deleted: boolean;
}

export interface ApiError {
  status: number;
  body: { message: string; code: number; errors?: unknown };
}

export const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
  embedTotal: 6000,
  files: 10,
} as const;

/** Flags a client may set when creating a message (ephemeral only through interactions). */
const CREATE_FLAGS =
  MessageFlags.SuppressEmbeds |
  MessageFlags.Ephemeral |
  MessageFlags.SuppressNotifications |
  MessageFlags.IsVoiceMessage |
  MessageFlags.IsComponentsV2;
/** Flags a client may change by editing. */
const EDIT_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.IsComponentsV2;

export function invalidFormBody(errors: Record<string, unknown>): ApiError {
  return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors } };
}

export function fieldError(code: string, message: string): { _errors: Array<{ code: string; message: string }> } {
  return { _errors: [{ code, message }] };
}

export function maxLength(limit: number): { _errors: Array<{ code: string; message: string }> } {
  return fieldError('BASE_TYPE_MAX_LENGTH', `Must be ${limit} or fewer in length.`);
}

const len = (value: unknown): number => (typeof value === 'string' ? value.length : 0);

/** Checks a message body against Discord's limits; undefined when it would be accepted. */
export function validateMessageBody(
  json: Record<string, unknown>,
  files: UploadedFile[],
  mode: 'create' | 'edit',
  current?: Pick<MessageRecord, 'flags' | 'content' | 'embeds' | 'components'>,
): ApiError | undefined {
  const flags = resultingFlags(json, mode, current);
  const errors: Record<string, unknown> = { ...checkV2Fields(json, flags, mode === 'edit' ? current : undefined) };
  if (json.content !== undefined && json.content !== null) {
    if (typeof json.content !== 'string') errors.content = fieldError('STRING_TYPE_CONVERT', 'Must be a string.');
    else if (json.content.length > LIMITS.content) errors.content = maxLength(LIMITS.content);
  }
  if (Array.isArray(json.embeds)) {
    if (json.embeds.length > LIMITS.embeds) errors.embeds = maxLength(LIMITS.embeds);
    else {
      const embedErrors: Record<string, unknown> = {};
      let total = 0;
      json.embeds.forEach((raw: unknown, index) => {
        const embed = (raw ?? {}) as APIEmbed;
        const problems: Record<string, unknown> = {};
        if (len(embed.title) > LIMITS.embedTitle) problems.title = maxLength(LIMITS.embedTitle);
        if (len(embed.description) > LIMITS.embedDescription) {
          problems.description = maxLength(LIMITS.embedDescription);
        }
        if ((embed.fields?.length ?? 0) > LIMITS.embedFields) problems.fields = maxLength(LIMITS.embedFields);
        if (len(embed.footer?.text) > LIMITS.embedFooter) problems.footer = { text: maxLength(LIMITS.embedFooter) };
        if (len(embed.author?.name) > LIMITS.embedAuthor) problems.author = { name: maxLength(LIMITS.embedAuthor) };
        embed.fields?.forEach((field, i) => {
          if (len(field.name) > LIMITS.embedFieldName || len(field.value) > LIMITS.embedFieldValue) {
            problems.fields = { [i]: { value: maxLength(LIMITS.embedFieldValue) } };
          }
        });
        total +=
          len(embed.title) +
          len(embed.description) +
          len(embed.footer?.text) +
          len(embed.author?.name) +
          (embed.fields ?? []).reduce((sum, f) => sum + len(f.name) + len(f.value), 0);
        if (Object.keys(problems).length > 0) embedErrors[index] = problems;
      });
      if (Object.keys(embedErrors).length > 0) errors.embeds = embedErrors;
      else if (total > LIMITS.embedTotal) {
        errors.embeds = fieldError('MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${LIMITS.embedTotal}`);
      }
    }
  }
  if (Array.isArray(json.components)) Object.assign(errors, checkComponents(json.components, flags).errors);
  const attachmentCount = Array.isArray(json.attachments) ? json.attachments.length : files.length;
  if (attachmentCount > LIMITS.files || files.length > LIMITS.files) errors.attachments = maxLength(LIMITS.files);
  if (Object.keys(errors).length > 0) return invalidFormBody(errors);

  if (mode === 'create') {
    // A V2 message with no component shows nothing.
    const hasContent = typeof json.content === 'string' && json.content.length > 0;
    const hasEmbeds = Array.isArray(json.embeds) && json.embeds.length > 0;
    const hasComponents = Array.isArray(json.components) && json.components.length > 0;
    const hasStickers = Array.isArray(json.sticker_ids) && json.sticker_ids.length > 0;
    if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && !json.poll && files.length === 0) {
      return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
    }
  }
  return undefined;
}

/** The flags a message has once a create or edit body is applied (the V2 flag is never taken off: see checkV2Fields). */
export function resultingFlags(json: Record<string, unknown>, mode: 'create' | 'edit', current?: Pick<MessageRecord, 'flags'>): number {
  if (mode === 'create' || !current) return createFlags(json.flags);
  return editFlags(current.flags, json.flags) | (current.flags & MessageFlags.IsComponentsV2);
}

/**
 * A V2 message once written: its media must name attachments it has, and every file uploaded with the request
 * must be shown by one (a V2 message shows no attachment by itself). `before` is what it had, `after` what it has.
 */
export function v2MediaErrors(
  components: unknown[],
  flags: number,
  before: readonly MessageAttachment[],
  after: readonly MessageAttachment[],
  cdn: FakeCdn,
): ApiError | undefined {
  if (!isV2(flags)) return undefined;
  const name = (a: MessageAttachment) => (typeof a === 'string' ? (cdn.getAttachment(a)?.filename ?? '') : a.filename);
  const had = new Set(before.map(attachmentId));
  const uploaded = after.filter((a) => !had.has(attachmentId(a))).map(name);
  const errors = checkAttachmentReferences(checkComponents(components, flags).references, after.map(name), uploaded);
  return Object.keys(errors).length > 0 ? invalidFormBody(errors) : undefined;
}

/** Discord's filename clean-up: path parts dropped, spaces and odd characters become underscores. */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'unknown';
  const cleaned = base.replace(/[^\w.-]+/g, '_');
  return cleaned.length > 0 ? cleaned : 'unknown';
}

export interface WriteContext {
  cdn: FakeCdn;
  nextId: () => string;
  channelId: string;
}

/**
 * Works out a message's attachment list after a create/edit. With `attachments` in the body it is the
 * complete new list: existing attachments are kept by id, new uploads are referenced by their `files[n]`
 * index. Without it, uploads are appended to what the message already had.
 */
export function resolveAttachments(
  current: MessageAttachment[],
  json: Record<string, unknown>,
  files: UploadedFile[],
  ctx: WriteContext,
): MessageAttachment[] | ApiError {
  const uploads = new Map<string, UploadedFile>();
  files.forEach((file, index) => {
    const match = /^files\[(\d+)\]$/.exec(file.name) ?? /^file(\d*)$/.exec(file.name);
    uploads.set(match?.[1] ? match[1] : String(index), file);
  });
  const store = (file: UploadedFile, meta: { filename?: unknown; description?: unknown; title?: unknown }) =>
    ctx.cdn.addAttachment({
      id: ctx.nextId(),
      channelId: ctx.channelId,
      filename: sanitizeFilename(typeof meta.filename === 'string' ? meta.filename : file.filename || 'unknown'),
      contentType: file.contentType,
      data: file.data,
      description: typeof meta.description === 'string' ? meta.description : undefined,
      title: typeof meta.title === 'string' ? meta.title : undefined,
    }).id;

  if (!Array.isArray(json.attachments)) {
    return [...current, ...[...uploads.values()].map((file) => store(file, {}))];
  }
  const next: MessageAttachment[] = [];
  for (const [index, raw] of (json.attachments as unknown[]).entries()) {
    const entry = (raw ?? {}) as { id?: unknown; filename?: unknown; description?: unknown; title?: unknown };
    const id = String(entry.id);
    const existing = current.find((a) => attachmentId(a) === id);
    if (existing) {
      next.push(existing);
      continue;
    }
    const upload = uploads.get(id);
    if (upload) {
      next.push(store(upload, entry));
      uploads.delete(id);
      continue;
    }
    return invalidFormBody({
      attachments: { [index]: { id: fieldError('ATTACHMENT_NOT_FOUND', `Unknown attachment id ${id}.`) } },
    });
  }
  // Parts nobody referenced are still uploaded and attached, as Discord does.
  for (const file of uploads.values()) next.push(store(file, {}));
  return next;
}

export function attachmentId(attachment: MessageAttachment): string {
  return typeof attachment === 'string' ? attachment : attachment.id;
}

export function createFlags(value: unknown): number {
  return typeof value === 'number' ? value & CREATE_FLAGS : 0;
}

export function editFlags(current: number, value: unknown): number {
  if (typeof value !== 'number') return current;
  return (current & ~EDIT_FLAGS) | (value & EDIT_FLAGS);
}

/** Applies content/embeds/components/flags of a create or edit body onto a record (attachments separately). */
export function applyBody(record: MessageRecord, json: Record<string, unknown>): void {
  if (typeof json.content === 'string') record.content = json.content;
  else if (json.content === null) record.content = '';
  if (Array.isArray(json.embeds)) record.embeds = json.embeds as APIEmbed[];
  else if (json.embeds === null) record.embeds = [];
  if (Array.isArray(json.components)) record.components = json.components as unknown[];
  else if (json.components === null) record.components = [];
  for (const key of ['poll', 'message_reference', 'sticker_ids'] as const) {
    if (json[key] !== undefined) record.extra[key] = json[key];
  }
  if (typeof json.tts === 'boolean') record.tts = json.tts;
}

export function renderMessage(record: MessageRecord, cdn: FakeCdn): APIMessage {
  const attachments = record.attachments.map((a) => renderAttachment(a, cdn));
  const message: Record<string, unknown> = {
    id: record.id,
    type: record.type,
    channel_id: record.channelId,
    content: record.content,
    author: record.author,
    attachments,
    embeds: record.embeds.map((embed) => renderEmbed(embed, attachments, cdn)),
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: record.tts,
    timestamp: record.timestamp,
    edited_timestamp: record.editedTimestamp,
    flags: record.flags,
    components: renderComponents(record.components, attachments),
  };
  if (record.webhookId) message.webhook_id = record.webhookId;
  if (record.applicationId) message.application_id = record.applicationId;
  if (record.interactionMetadata) {
    message.interaction_metadata = record.interactionMetadata;
  }
  const { sticker_ids: _stickers, ...extra } = record.extra;
  return { ...message, ...extra } as unknown as APIMessage;
}

/**
 * V2 media as Discord returns them: an `attachment://name` item resolved to the attachment's CDN URL, with its
 * proxy URL, size, type and id filled in (only `url` is ever set by an app).
 */
function renderComponents(components: unknown[], attachments: APIAttachment[]): unknown[] {
  const resolve = (item: Record<string, unknown>): Record<string, unknown> => {
    const url = typeof item.url === 'string' ? item.url : '';
    const attachment = url.startsWith('attachment://') ? attachments.find((a) => a.filename === url.slice('attachment://'.length)) : undefined;
    if (!attachment) return item;
    return {
      url: attachment.url,
      proxy_url: attachment.proxy_url,
      ...(attachment.width != null ? { width: attachment.width, height: attachment.height } : {}),
      ...(attachment.content_type ? { content_type: attachment.content_type } : {}),
      attachment_id: attachment.id,
    };
  };
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = (key === 'media' || key === 'file') && typeof v === 'object' && v !== null ? resolve(v as Record<string, unknown>) : walk(v);
    }
    return out;
  };
  return components.map(walk);
}

function renderAttachment(attachment: MessageAttachment, cdn: FakeCdn): APIAttachment {
  if (typeof attachment !== 'string') {
    // A test-supplied object: re-sign it if the bytes live on the fake CDN, else pass it through.
    const known = cdn.getAttachment(attachment.id);
    return known ? cdn.renderAttachment(known) : attachment;
  }
  const record = cdn.getAttachment(attachment) as AttachmentRecord;
  return cdn.renderAttachment(record);
}

/** Embed images: `attachment://name` points at the message's own attachment; known external URLs get proxied. */
function renderEmbed(embed: APIEmbed, attachments: APIAttachment[], cdn: FakeCdn): APIEmbed {
  const out = { type: 'rich', ...embed } as APIEmbed;
  for (const key of ['image', 'thumbnail'] as const) {
    const image = embed[key];
    if (!image?.url) continue;
    if (image.url.startsWith('attachment://')) {
      const name = image.url.slice('attachment://'.length);
      const attachment = attachments.find((a) => a.filename === name);
      if (attachment) {
        const resolved: NonNullable<APIEmbed['image']> = { url: attachment.url, proxy_url: attachment.proxy_url };
        if (attachment.width != null && attachment.height != null) {
          resolved.width = attachment.width;
          resolved.height = attachment.height;
        }
        if (attachment.content_type) resolved.content_type = attachment.content_type;
        out[key] = resolved;
      }
      continue;
    }
    const external = cdn.externalByUrl(image.url);
    if (external) out[key] = { ...image, ...cdn.renderExternal(external) };
  }
  return out;
}

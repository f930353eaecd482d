// Message components as Discord checks them, legacy and Components V2 (the IS_COMPONENTS_V2 flag, 1 << 15):
// which types may sit where, Discord's counts and lengths, and the `attachment://` references of V2 media.
// Errors come back in Discord's shape: an `errors` object keyed by the path of the bad field (50035).
import { ComponentType, MessageFlags } from 'discord-api-types/v10';

export const V2_LIMITS = {
  /** Components in one V2 message, nested ones counted. */
  components: 40,
  /** Characters of every text display of a message together. */
  textDisplayTotal: 4000,
  galleryItems: 10,
  altText: 1024,
  buttonsPerRow: 5,
  buttonLabel: 80,
  customId: 100,
  selectOptions: 25,
} as const;

type Errors = Record<string, unknown>;

export const isV2 = (flags: number): boolean => (flags & MessageFlags.IsComponentsV2) !== 0;

function err(code: string, message: string): { _errors: Array<{ code: string; message: string }> } {
  return { _errors: [{ code, message }] };
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const typeChoices = (allowed: readonly number[]) => err('UNION_TYPE_CHOICES', `Value of field "type" must be one of (${allowed.join(', ')}).`);

/** Where a component may sit in a message, by the type of what holds it. */
const TOP_LEVEL_V2: readonly number[] = [
  ComponentType.ActionRow,
  ComponentType.Section,
  ComponentType.TextDisplay,
  ComponentType.MediaGallery,
  ComponentType.File,
  ComponentType.Separator,
  ComponentType.Container,
];
const IN_CONTAINER: readonly number[] = [ComponentType.ActionRow, ComponentType.Section, ComponentType.TextDisplay, ComponentType.MediaGallery, ComponentType.File, ComponentType.Separator];
const SELECTS: readonly number[] = [ComponentType.StringSelect, ComponentType.UserSelect, ComponentType.RoleSelect, ComponentType.MentionableSelect, ComponentType.ChannelSelect];

/** What a walk over a message's components found, for the checks across the whole message. */
interface Walk {
  count: number;
  text: number;
  customIds: Map<string, string>;
  /** `attachment://` names the media items refer to, with the path of each. */
  references: Array<{ name: string; path: string }>;
  errors: Errors;
}

/** Sets `value` at `path` (dot-separated) in `errors`, as Discord nests them. */
function put(errors: Errors, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = errors;
  for (const part of parts.slice(0, -1)) at = (at[part] = obj(at[part])) as Errors;
  at[parts[parts.length - 1] ?? ''] = value;
}

function media(walk: Walk, raw: unknown, path: string): void {
  const item = obj(raw);
  const url = obj(item.media ?? item.file).url;
  const field = item.file !== undefined ? 'file' : 'media';
  if (typeof url !== 'string' || url.length === 0) return put(walk.errors, `${path}.${field}.url`, err('BASE_TYPE_REQUIRED', 'This field is required'));
  if (url.startsWith('attachment://')) walk.references.push({ name: url.slice('attachment://'.length), path: `${path}.${field}.url` });
  else if (field === 'file') put(walk.errors, `${path}.file.url`, err('UNFURLED_MEDIA_ITEM_ATTACHMENT_ONLY', 'A file component only takes attachment:// references.'));
  if (typeof item.description === 'string' && item.description.length > V2_LIMITS.altText) {
    put(walk.errors, `${path}.description`, err('BASE_TYPE_MAX_LENGTH', `Must be ${V2_LIMITS.altText} or fewer in length.`));
  }
}

function interactive(walk: Walk, c: Record<string, unknown>, path: string): void {
  const id = c.custom_id;
  const link = c.style === 5 || c.style === 6;
  if (c.type === ComponentType.Button && link) return;
  if (typeof id !== 'string' || id.length === 0) return put(walk.errors, `${path}.custom_id`, err('BASE_TYPE_REQUIRED', 'This field is required'));
  if (id.length > V2_LIMITS.customId) return put(walk.errors, `${path}.custom_id`, err('BASE_TYPE_MAX_LENGTH', `Must be ${V2_LIMITS.customId} or fewer in length.`));
  if (walk.customIds.has(id)) put(walk.errors, `${path}.custom_id`, err('COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated'));
  walk.customIds.set(id, path);
  if (c.type === ComponentType.Button && typeof c.label === 'string' && c.label.length > V2_LIMITS.buttonLabel) {
    put(walk.errors, `${path}.label`, err('BASE_TYPE_MAX_LENGTH', `Must be ${V2_LIMITS.buttonLabel} or fewer in length.`));
  }
  if (c.type === ComponentType.StringSelect) {
    const options = list(c.options);
    if (options.length === 0 || options.length > V2_LIMITS.selectOptions) put(walk.errors, `${path}.options`, err('BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${V2_LIMITS.selectOptions} in length.`));
  }
}

function actionRow(walk: Walk, c: Record<string, unknown>, path: string): void {
  const children = list(c.components);
  const selects = children.filter((x) => SELECTS.includes(obj(x).type as number)).length;
  if (children.length === 0) return put(walk.errors, `${path}.components`, err('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.'));
  if (selects > 0 && children.length > 1) return put(walk.errors, `${path}.components`, err('COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width'));
  if (children.length > V2_LIMITS.buttonsPerRow) return put(walk.errors, `${path}.components`, err('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.'));
  children.forEach((x, i) => component(walk, x, `${path}.components.${i}`, [ComponentType.Button, ...SELECTS]));
}

/** Checks one component and what it holds; `allowed` are the types its place takes. */
function component(walk: Walk, raw: unknown, path: string, allowed: readonly number[]): void {
  const c = obj(raw);
  const type = c.type as number;
  if (!allowed.includes(type)) return put(walk.errors, `${path}.type`, typeChoices(allowed));
  walk.count++;
  switch (type) {
    case ComponentType.ActionRow:
      return actionRow(walk, c, path);
    case ComponentType.Button:
    case ComponentType.StringSelect:
    case ComponentType.UserSelect:
    case ComponentType.RoleSelect:
    case ComponentType.MentionableSelect:
    case ComponentType.ChannelSelect:
      return interactive(walk, c, path);
    case ComponentType.TextDisplay:
      if (typeof c.content !== 'string' || c.content.length === 0) return put(walk.errors, `${path}.content`, err('BASE_TYPE_REQUIRED', 'This field is required'));
      walk.text += c.content.length;
      return;
    case ComponentType.MediaGallery: {
      const items = list(c.items);
      if (items.length < 1 || items.length > V2_LIMITS.galleryItems) return put(walk.errors, `${path}.items`, err('BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${V2_LIMITS.galleryItems} in length.`));
      items.forEach((item, i) => media(walk, item, `${path}.items.${i}`));
      return;
    }
    case ComponentType.File:
      return media(walk, c, path);
    case ComponentType.Section: {
      const children = list(c.components);
      if (children.length < 1 || children.length > 3) return put(walk.errors, `${path}.components`, err('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 3 in length.'));
      children.forEach((x, i) => component(walk, x, `${path}.components.${i}`, [ComponentType.TextDisplay]));
      const accessory = obj(c.accessory);
      if (accessory.type === ComponentType.Thumbnail) {
        walk.count++;
        media(walk, accessory, `${path}.accessory`);
      } else component(walk, accessory, `${path}.accessory`, [ComponentType.Button, ComponentType.Thumbnail]);
      return;
    }
    case ComponentType.Container:
      list(c.components).forEach((x, i) => component(walk, x, `${path}.components.${i}`, IN_CONTAINER));
      if (list(c.components).length === 0) put(walk.errors, `${path}.components`, err('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 40 in length.'));
      return;
    default:
      return;
  }
}

/**
 * A message's components checked for its flags: without IS_COMPONENTS_V2 at most 5 action rows of buttons and
 * selects; with it the V2 layout, at most 40 components in all, 4,000 characters of text displays, galleries of
 * 1–10 items. Returns the errors (keyed under `components`) and the `attachment://` names the media items use.
 */
export function checkComponents(components: unknown[], flags: number): { errors: Errors; references: Array<{ name: string; path: string }> } {
  const walk: Walk = { count: 0, text: 0, customIds: new Map(), references: [], errors: {} };
  const v2 = isV2(flags);
  if (!v2 && components.length > 5) return { errors: { components: err('BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.') }, references: [] };
  components.forEach((c, i) => component(walk, c, `components.${i}`, v2 ? TOP_LEVEL_V2 : [ComponentType.ActionRow]));
  if (v2 && walk.count > V2_LIMITS.components && walk.errors.components === undefined) {
    walk.errors.components = err('BASE_TYPE_MAX_LENGTH', `Must be ${V2_LIMITS.components} or fewer in length.`);
  }
  if (v2 && walk.text > V2_LIMITS.textDisplayTotal && walk.errors.components === undefined) {
    walk.errors.components = err('COMPONENT_TEXT_DISPLAY_TOTAL_LENGTH_EXCEEDED', `The text of all text displays together must be ${V2_LIMITS.textDisplayTotal} or fewer in length.`);
  }
  return { errors: walk.errors, references: walk.references };
}

/** The fields a V2 message may not use, and the check that the flag is never taken off a message that has it. */
export function checkV2Fields(json: Record<string, unknown>, flags: number, current?: { flags: number; content: string; embeds: unknown[] }): Errors {
  const errors: Errors = {};
  if (current && isV2(current.flags) && typeof json.flags === 'number' && !isV2(json.flags)) {
    errors.flags = err('MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG', 'The IS_COMPONENTS_V2 flag cannot be removed from a message that has it.');
  }
  if (!isV2(flags)) return errors;
  const legacy = (field: string) => err('MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2', `The '${field}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2`);
  if (typeof json.content === 'string' && json.content.length > 0) errors.content = legacy('content');
  if (list(json.embeds).length > 0) errors.embeds = legacy('embeds');
  if (json.poll !== undefined && json.poll !== null) errors.poll = legacy('poll');
  if (list(json.sticker_ids).length > 0) errors.sticker_ids = legacy('sticker_ids');
  // Upgrading a message to V2 by an edit: what it showed the old way must be nulled in the same edit.
  if (current && !isV2(current.flags)) {
    if (current.content.length > 0 && !(json.content === null || json.content === '')) errors.content ??= legacy('content');
    if (current.embeds.length > 0 && !(json.embeds === null || (Array.isArray(json.embeds) && json.embeds.length === 0))) errors.embeds ??= legacy('embeds');
  }
  return errors;
}

/**
 * V2 media must name attachments the message has once written (`available`), and every file uploaded with the
 * request (`uploaded`) must be shown by a component: a V2 message shows no attachment by itself.
 */
export function checkAttachmentReferences(references: Array<{ name: string; path: string }>, available: readonly string[], uploaded: readonly string[]): Errors {
  const errors: Errors = {};
  for (const ref of references) {
    if (!available.includes(ref.name)) put(errors, ref.path, err('UNFURLED_MEDIA_ITEM_ATTACHMENT_NOT_FOUND', `No attachment named ${ref.name} in this message.`));
  }
  uploaded.forEach((name, i) => {
    if (!references.some((r) => r.name === name)) put(errors, `attachments.${i}`, err('ATTACHMENT_NOT_REFERENCED', `The uploaded file ${name} is not shown by any component (IS_COMPONENTS_V2 messages show attachments only through components).`));
  });
  return errors;
}

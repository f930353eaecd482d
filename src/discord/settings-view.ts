import { ActionRowBuilder, ButtonBuilder, ButtonStyle, ContainerBuilder, StringSelectMenuBuilder, TextDisplayBuilder, type APIMessageTopLevelComponent } from 'discord.js';
import { t, tn } from '../i18n/index.js';
import { ASPECT_RATIOS, type AspectRatio } from '../luma/types.js';
import { MAX_IMAGES_PER_REQUEST } from '../jobs/create.js';
import type { DefaultedChoice } from '../jobs/types.js';
import type { ImageDefaults, ServerImageSettings } from '../preferences/model.js';
import { BRAND_COLOUR, CHOICE_LABEL } from './answer.js';
import { Prefixes } from './custom-ids.js';

/** Whose defaults a view shows: the member's own (/settings), or the server's (`/bot-admin defaults`). */
export type SettingsScope = 'member' | 'server';

/** The fields a view lets one change, in the order shown: every choice a request can take from settings. */
export const SETTING_FIELDS = ['model', 'aspectRatio', 'style', 'outputFormat', 'count', 'webSearch', 'visibility'] as const satisfies readonly DefaultedChoice[];
export type SettingField = (typeof SETTING_FIELDS)[number];

/** The value of the "not set" option of every select. */
const UNSET = 'unset';
/** The ratios in the order members think of them (as /imagine lists them). */
const RATIOS: readonly AspectRatio[] = ['1:1', '16:9', '3:2', '2:1', '3:1', '9:16', '2:3', '1:2', '1:3'];


/** Every option of a field's select: its value as stored, and its label. */
function options(field: SettingField, locale: string | undefined): Array<{ value: string; label: string }> {
  switch (field) {
    case 'model':
      return [{ value: 'uni-1', label: t(locale, 'opt.model.choice.uni-1') }, { value: 'uni-1-max', label: t(locale, 'opt.model.choice.uni-1-max') }];
    case 'aspectRatio':
      return [{ value: 'auto', label: t(locale, 'settings.ratio.auto') }, ...RATIOS.map((r) => ({ value: r, label: t(locale, `opt.aspect_ratio.choice.${r}`) }))];
    case 'style':
      return [{ value: 'auto', label: t(locale, 'opt.style.choice.auto') }, { value: 'manga', label: t(locale, 'opt.style.choice.manga') }];
    case 'outputFormat':
      return [{ value: 'auto', label: t(locale, 'settings.format.auto') }, { value: 'png', label: t(locale, 'opt.format.choice.png') }, { value: 'jpeg', label: t(locale, 'opt.format.choice.jpeg') }];
    case 'count':
      return Array.from({ length: MAX_IMAGES_PER_REQUEST }, (_, i) => ({ value: String(i + 1), label: tn(locale, 'settings.count', i + 1) }));
    case 'webSearch':
      return [{ value: 'on', label: t(locale, 'settings.webSearch.on') }, { value: 'off', label: t(locale, 'settings.webSearch.off') }];
    case 'visibility':
      return [{ value: 'public', label: t(locale, 'settings.visibility.public') }, { value: 'private', label: t(locale, 'settings.visibility.private') }];
  }
}

/** A field's current value as its select names it. */
function currentValue(d: ImageDefaults, field: SettingField): string {
  const v = d[field];
  if (v === undefined) return UNSET;
  if (field === 'webSearch') return v ? 'on' : 'off';
  return String(v);
}

/** The defaults with one field set from a select's value (an unknown value leaves them as they were). */
export function applySetting(d: ImageDefaults, field: SettingField, value: string): ImageDefaults {
  const next: ImageDefaults = { ...d };
  if (value === UNSET) {
    delete next[field];
    return next;
  }
  if (!options(field, 'en').some((o) => o.value === value)) return d;
  if (field === 'count') next.count = Number(value);
  else if (field === 'webSearch') next.webSearch = value === 'on';
  else if (field === 'aspectRatio') next.aspectRatio = (ASPECT_RATIOS as readonly string[]).includes(value) ? (value as AspectRatio) : 'auto';
  else (next as Record<string, unknown>)[field] = value;
  return next;
}

export function isSettingField(value: string): value is SettingField {
  return (SETTING_FIELDS as readonly string[]).includes(value);
}

/**
 * The view of someone's defaults: a select per field (the current value chosen, "not set" first) and "Reset all",
 * in one private V2 message; a change re-draws it. The server's view also says what the server allows.
 */
export function settingsView(scope: SettingsScope, defaults: ImageDefaults, locale: string | undefined, server?: ServerImageSettings): { v2: true; components: APIMessageTopLevelComponent[] } {
  const intro =
    scope === 'member'
      ? t(locale, 'settings.intro.member')
      : t(locale, 'settings.intro.server', {
          limits: t(locale, 'settings.limits', { max: t(locale, server?.allowMax === false ? 'settings.max.forbidden' : 'settings.max.allowed'), count: server?.maxCount ?? MAX_IMAGES_PER_REQUEST }),
        });
  const container = new ContainerBuilder()
    .setAccentColor(BRAND_COLOUR)
    .addTextDisplayComponents(new TextDisplayBuilder().setContent(`### ${t(locale, scope === 'member' ? 'settings.title.member' : 'settings.title.server')}\n${intro}`));
  const prefix = scope === 'member' ? Prefixes.memberSetting : Prefixes.serverSetting;
  const unset = `${t(locale, 'settings.unset')} · ${t(locale, scope === 'member' ? 'settings.unset.member' : 'settings.unset.server')}`;
  for (const field of SETTING_FIELDS) {
    const current = currentValue(defaults, field);
    const select = new StringSelectMenuBuilder()
      .setCustomId(`${prefix}:${field}`)
      .setPlaceholder(t(locale, CHOICE_LABEL[field]))
      .addOptions([{ value: UNSET, label: `${t(locale, CHOICE_LABEL[field])}: ${unset}` }, ...options(field, locale).map((o) => ({ ...o, label: `${t(locale, CHOICE_LABEL[field])}: ${o.label}` }))].map((o) => ({ ...o, label: o.label.slice(0, 100), default: o.value === current })));
    container.addActionRowComponents(new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(select));
  }
  container.addActionRowComponents(new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId(`${Prefixes.resetSettings}:${scope}`).setLabel(t(locale, 'settings.reset')).setEmoji({ name: '↩️' }).setStyle(ButtonStyle.Secondary)));
  return { v2: true, components: [container.toJSON()] };
}

import { catalogues, discordLocalizations, format, hasKey, type EnglishOf, type MessageKey, type VarsArg } from './index.js';

/*
 * The texts of command definitions — names, descriptions, option descriptions, choice names — are written once, in
 * the catalogue: a definition takes its English with `english(key)` and `choice(key)`, and deploy-commands adds the
 * other languages (localizeCommand), looking the same keys up by where a text sits:
 *   cmd.<command>.name / .description                        (name only where a translated name makes sense)
 *   cmd.<command>[.<group>][.<sub>].description              subcommands
 *   cmd.<path>.<option>.description, else opt.<option>.description
 *   cmd.<path>.<option>.choice.<value>, else opt.<option>.choice.<value>
 * An option named like `reference3` also finds `opt.reference.description` with {n} = 3.
 */

/** The English text of a key, for a command definition (with its placeholders filled, where it has any). */
export function english<K extends MessageKey>(key: K, ...vars: VarsArg<K>): EnglishOf<K> {
  const text: string = catalogues.en[key];
  return (vars[0] ? format(text, vars[0]) : text) as EnglishOf<K>;
}

type ChoiceValue<K extends string> = K extends `${string}.choice.${infer V}` ? V : never;

/** A choice of a definition, from its catalogue key: `opt.model.choice.uni-1` is the choice `uni-1`, named in English. */
export function choice<K extends MessageKey & `${string}.choice.${string}`>(key: K): { readonly name: EnglishOf<K>; readonly value: ChoiceValue<K> } {
  const value = key.slice(key.indexOf('.choice.') + '.choice.'.length);
  return { name: catalogues.en[key] as EnglishOf<K>, value: value as ChoiceValue<K> };
}

interface ChoiceLike {
  name: string;
  value: string | number;
  name_localizations?: Record<string, string | null | undefined> | null;
}
interface OptionLike {
  type: number;
  name: string;
  description: string;
  name_localizations?: Record<string, string | null | undefined> | null;
  description_localizations?: Record<string, string | null | undefined> | null;
  options?: readonly OptionLike[];
  choices?: readonly ChoiceLike[];
}
interface CommandLike {
  type?: number | undefined;
  name: string;
  description?: string | undefined;
  name_localizations?: Record<string, string | null | undefined> | null | undefined;
  description_localizations?: Record<string, string | null | undefined> | null | undefined;
  options?: readonly unknown[] | undefined;
}

/** One English text of a definition and the catalogue entry that translates it (undefined: none found). */
export interface DefinitionText {
  where: string;
  english: string;
  key: MessageKey | undefined;
  vars: Record<string, string | number>;
  /** Names are translated only where it makes sense; a missing name key is not a gap. */
  optional: boolean;
}

const SUBCOMMAND = 1;
const SUBCOMMAND_GROUP = 2;

function lookup(candidates: Array<[string, Record<string, string | number>]>): { key: MessageKey | undefined; vars: Record<string, string | number> } {
  for (const [key, vars] of candidates) if (hasKey(key)) return { key, vars };
  return { key: undefined, vars: {} };
}

function optionCandidates(path: string, name: string, suffix: string): Array<[string, Record<string, string | number>]> {
  const list: Array<[string, Record<string, string | number>]> = [[`cmd.${path}.${name}.${suffix}`, {}], [`opt.${name}.${suffix}`, {}]];
  const numbered = /^(.*?)(\d+)$/.exec(name);
  if (numbered?.[1]) list.push([`opt.${numbered[1]}.${suffix}`, { n: Number(numbered[2]) }]);
  return list;
}

/** Every translatable text of a definition, with the key that translates it. */
export function definitionTexts(data: CommandLike): DefinitionText[] {
  const out: DefinitionText[] = [];
  const name = lookup([[`cmd.${data.name}.name`, {}]]);
  out.push({ where: `${data.name} (name)`, english: data.name, ...name, optional: true });
  if (data.description) out.push({ where: `${data.name} (description)`, english: data.description, ...lookup([[`cmd.${data.name}.description`, {}]]), optional: false });
  const walk = (options: readonly OptionLike[] | undefined, path: string): void => {
    for (const o of options ?? []) {
      if (o.type === SUBCOMMAND || o.type === SUBCOMMAND_GROUP) {
        out.push({ where: `${path}.${o.name}`, english: o.description, ...lookup([[`cmd.${path}.${o.name}.description`, {}]]), optional: false });
        walk(o.options, `${path}.${o.name}`);
        continue;
      }
      out.push({ where: `${path} ${o.name}`, english: o.description, ...lookup(optionCandidates(path, o.name, 'description')), optional: false });
      for (const c of o.choices ?? []) {
        out.push({ where: `${path} ${o.name}=${c.value}`, english: c.name, ...lookup(optionCandidates(path, o.name, `choice.${c.value}`)), optional: false });
      }
    }
  };
  walk(data.options as readonly OptionLike[] | undefined, data.name);
  return out;
}

function localized(key: MessageKey | undefined, vars: Record<string, string | number>): Record<string, string> | undefined {
  if (!key) return undefined;
  const map = discordLocalizations(key, vars);
  return Object.keys(map).length > 0 ? map : undefined;
}

/** A copy of a command definition carrying Discord localizations for its name, descriptions and choices. */
export function localizeCommand<T extends CommandLike>(data: T): T {
  const out: CommandLike = { ...data };
  const name = localized(lookup([[`cmd.${data.name}.name`, {}]]).key, {});
  if (name) out.name_localizations = name;
  if (data.description) {
    const d = localized(lookup([[`cmd.${data.name}.description`, {}]]).key, {});
    if (d) out.description_localizations = d;
  }
  const walk = (options: readonly OptionLike[] | undefined, path: string): OptionLike[] | undefined =>
    options?.map((o) => {
      const copy: OptionLike = { ...o };
      if (o.type === SUBCOMMAND || o.type === SUBCOMMAND_GROUP) {
        const d = localized(lookup([[`cmd.${path}.${o.name}.description`, {}]]).key, {});
        if (d) copy.description_localizations = d;
        const nested = walk(o.options, `${path}.${o.name}`);
        if (nested) copy.options = nested;
        return copy;
      }
      const found = lookup(optionCandidates(path, o.name, 'description'));
      const d = localized(found.key, found.vars);
      if (d) copy.description_localizations = d;
      if (o.choices) {
        copy.choices = o.choices.map((c) => {
          const ch = lookup(optionCandidates(path, o.name, `choice.${c.value}`));
          const l = localized(ch.key, ch.vars);
          return l ? { ...c, name_localizations: l } : c;
        });
      }
      return copy;
    });
  const options = walk(data.options as readonly OptionLike[] | undefined, data.name);
  if (options) out.options = options;
  return out as T;
}

/** The English text a catalogue entry gives for a definition text (to check the two are in step). */
export function englishOf(text: DefinitionText): string | undefined {
  return text.key ? format(catalogues.en[text.key], text.vars) : undefined;
}

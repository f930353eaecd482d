import {
  FileUploadBuilder,
  LabelBuilder,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextInputBuilder,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type Attachment,
  type ModalSubmitInteraction,
} from 'discord.js';
import { MAX_EDIT_REFERENCES } from '../jobs/edit-spec.js';
import { MAX_PROMPT_LENGTH, MODELS, type Model } from '../luma/types.js';
import { UserFacingError } from '../errors.js';
import { t, tn } from '../i18n/index.js';
import { readPrompt } from './options.js';
import { truncate } from './render.js';

/** Modal text inputs hold at most 4000 characters (less than a prompt's 6000). */
const MODAL_PROMPT_MAX = Math.min(4000, MAX_PROMPT_LENGTH);

/** The custom_ids of the edit form's fields. */
export const EditFields = { prompt: 'prompt', which: 'image', references: 'refs', model: 'model' } as const;

export interface EditFormOptions {
  /** Default "Edit this image". */
  title?: string;
  /** How many images the target shows: with more than one, the form asks which (1 = the first shown). */
  which?: number;
  /** The model chosen to begin with (the result's own, or the member's default). */
  model: Model;
  /** Quota units an image of each model costs (shown beside the choice). */
  weights: Record<Model, number>;
}

/**
 * The edit form (Edit button, "Edit image"), in the member's language: the prompt, which image when there are
 * several, up to seven more reference images in a File Upload, and the model in a select — each in a Label.
 */
export function editForm(customId: string, locale: string | undefined, o: EditFormOptions): APIModalInteractionResponseCallbackData {
  const modal = new ModalBuilder().setCustomId(customId).setTitle(truncate(o.title ?? t(locale, 'modal.editThis'), 45));
  if (o.which !== undefined && o.which > 1) {
    modal.addLabelComponents(
      new LabelBuilder()
        .setLabel(truncate(t(locale, 'modal.which.label', { count: o.which }), 45))
        .setTextInputComponent(new TextInputBuilder().setCustomId(EditFields.which).setStyle(TextInputStyle.Short).setMinLength(1).setMaxLength(3).setPlaceholder(truncate(t(locale, 'modal.which.placeholder'), 100))),
    );
  }
  modal.addLabelComponents(
    new LabelBuilder()
      .setLabel(truncate(t(locale, 'modal.prompt.label'), 45))
      .setTextInputComponent(
        new TextInputBuilder().setCustomId(EditFields.prompt).setStyle(TextInputStyle.Paragraph).setMinLength(1).setMaxLength(MODAL_PROMPT_MAX).setRequired(true).setPlaceholder(truncate(t(locale, 'modal.prompt.placeholder'), 100)),
      ),
    new LabelBuilder()
      .setLabel(truncate(t(locale, 'modal.refs.label'), 45))
      .setDescription(truncate(t(locale, 'modal.refs.description', { max: MAX_EDIT_REFERENCES }), 100))
      .setFileUploadComponent(new FileUploadBuilder().setCustomId(EditFields.references).setMinValues(0).setMaxValues(MAX_EDIT_REFERENCES).setRequired(false)),
    new LabelBuilder()
      .setLabel(truncate(t(locale, 'modal.model.label'), 45))
      .setStringSelectMenuComponent(
        new StringSelectMenuBuilder()
          .setCustomId(EditFields.model)
          .addOptions(MODELS.map((m) => ({ value: m, label: truncate(t(locale, `modal.model.${m}`, { units: tn(locale, 'units', o.weights[m]) }), 100), default: m === o.model }))),
      ),
  );
  return modal.toJSON();
}

/** A form's field, or undefined when the submit does not carry it (an older form, or a forged one). */
function optionalField<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export interface EditAnswers {
  prompt: string;
  /** The model chosen, when the form had the choice. */
  model: Model | undefined;
  /** Files uploaded as more references (each still to be checked as an image). */
  uploads: Attachment[];
}

/**
 * What a member put in the edit form: the prompt (refused when empty or too long), the model (only one the bot
 * offers), and the uploaded references (at most seven: more is refused, naming how many to take out).
 */
export function readEditForm(interaction: ModalSubmitInteraction): EditAnswers {
  const locale = interaction.locale;
  const prompt = readPrompt(interaction.fields.getTextInputValue(EditFields.prompt), locale);
  const chosen = optionalField(() => interaction.fields.getStringSelectValues(EditFields.model))?.[0];
  const model = (MODELS as readonly string[]).includes(chosen ?? '') ? (chosen as Model) : undefined;
  const uploads = [...(optionalField(() => interaction.fields.getUploadedFiles(EditFields.references))?.values() ?? [])];
  if (uploads.length > MAX_EDIT_REFERENCES) {
    const count = uploads.length;
    throw new UserFacingError(t(locale, 'refuse.edit.tooManyUploads', { max: MAX_EDIT_REFERENCES, count, remove: count - MAX_EDIT_REFERENCES }), { code: 'too_many_references' });
  }
  return { prompt, model, uploads };
}

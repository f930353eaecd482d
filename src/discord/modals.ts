import { ComponentType, TextInputStyle, type APIModalInteractionResponseCallbackData, type ModalSubmitInteraction } from 'discord.js';
import { MAX_PROMPT_LENGTH } from '../luma/types.js';
import { t } from '../i18n/index.js';
import { readPrompt } from './options.js';
import { truncate } from './render.js';

/** Modal text inputs hold at most 4000 characters (less than a prompt's 6000). */
const MODAL_PROMPT_MAX = Math.min(4000, MAX_PROMPT_LENGTH);

/** The edit form, in the member's language (`locale`); `title` defaults to "Edit this image". */
export function editPromptModal(customId: string, locale?: string, title = t(locale, 'modal.editThis')): APIModalInteractionResponseCallbackData {
  return {
    custom_id: customId,
    title: truncate(title, 45),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: 'prompt',
            label: truncate(t(locale, 'modal.prompt.label'), 45),
            style: TextInputStyle.Paragraph,
            min_length: 1,
            max_length: MODAL_PROMPT_MAX,
            required: true,
            placeholder: truncate(t(locale, 'modal.prompt.placeholder'), 100),
          },
        ],
      },
    ],
  };
}

export function readModalPrompt(interaction: ModalSubmitInteraction): string {
  return readPrompt(interaction.fields.getTextInputValue('prompt'), interaction.locale);
}

import { ComponentType, TextInputStyle, type APIModalInteractionResponseCallbackData, type ModalSubmitInteraction } from 'discord.js';
import { MAX_PROMPT_LENGTH } from '../luma/types.js';
import { readPrompt } from './options.js';
import { truncate } from './render.js';

/** Modal text inputs hold at most 4000 characters (less than a prompt's 6000). */
const MODAL_PROMPT_MAX = Math.min(4000, MAX_PROMPT_LENGTH);

export function editPromptModal(customId: string, title = 'Edit this image'): APIModalInteractionResponseCallbackData {
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
            label: 'What should change?',
            style: TextInputStyle.Paragraph,
            min_length: 1,
            max_length: MODAL_PROMPT_MAX,
            required: true,
            placeholder: 'e.g. make it night time, add falling snow',
          },
        ],
      },
    ],
  };
}

export function readModalPrompt(interaction: ModalSubmitInteraction): string {
  return readPrompt(interaction.fields.getTextInputValue('prompt'));
}

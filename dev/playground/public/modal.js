// @ts-check
// The bot's forms (modals) as dialogs: text inputs in classic action rows or in Labels (type 18); submitting sends
// the modal-submit interaction.
import { call } from './api.js';
import { $, el, messageOf, toast } from './dom.js';

/** @typedef {import('../protocol.js').ModalEvent} ModalEvent */
/** @typedef {import('discord-api-types/v10').APITextInputComponent} APITextInputComponent */

/** The modal the dialog shows. @type {ModalEvent | null} */
let shown = null;

/** @param {ModalEvent} event */
export function openModal(event) {
  const dialog = $('#modal', HTMLDialogElement);
  const modal = event.modal;
  shown = event;
  $('#modal-title').textContent = modal.title;
  const fields = $('#modal-fields');
  fields.replaceChildren();
  /** @type {Array<HTMLInputElement | HTMLTextAreaElement>} */
  const controls = [];
  for (const row of modal.components ?? []) {
    const found = textInput(row);
    if (!found) continue;
    const { input, label } = found;
    const id = `modal-${input.custom_id}`;
    const control = el(input.style === 2 ? 'textarea' : 'input', {
      id,
      name: input.custom_id,
      required: input.required !== false,
      minlength: input.min_length,
      maxlength: input.max_length,
      placeholder: input.placeholder,
    });
    if (input.value) control.value = input.value;
    controls.push(control);
    fields.append(el('div', {}, el('label', { for: id }, label, input.required !== false ? el('span', { class: 'required', text: ' *' }) : null), control));
  }
  dialog.showModal();
  controls[0]?.focus();
}

/**
 * The text input of a modal row: classic action rows hold one; the newer Label (type 18) wraps one with its label.
 * @param {unknown} row
 * @returns {{ input: APITextInputComponent; label: string } | undefined}
 */
function textInput(row) {
  const r = /** @type {{ type?: number; label?: string; component?: APITextInputComponent; components?: APITextInputComponent[] }} */ (row);
  const input = r.type === 18 ? r.component : r.components?.[0];
  if (!input || input.type !== 4) return undefined;
  return { input, label: (r.type === 18 ? r.label : input.label) ?? '' };
}

/** @param {SubmitEvent} event */
async function submitModal(event) {
  event.preventDefault();
  const form = $('#modal-form', HTMLFormElement);
  if (!form.reportValidity() || !shown) return;
  /** @type {Record<string, string>} */
  const fields = {};
  for (const [name, value] of new FormData(form).entries()) fields[name] = String(value);
  const current = shown;
  $('#modal', HTMLDialogElement).close();
  shown = null;
  try {
    await call('modal', { customId: current.modal.custom_id, fields, sourceMessageId: current.sourceMessageId });
  } catch (err) {
    toast(messageOf(err));
  }
}

export function wireModal() {
  $('#modal-form', HTMLFormElement).addEventListener('submit', (event) => void submitModal(event));
  $('#modal-cancel').addEventListener('click', () => {
    $('#modal', HTMLDialogElement).close();
    shown = null;
  });
}

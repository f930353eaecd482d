// @ts-check
// The bot's forms (modals) as dialogs: text inputs in classic action rows or in Labels (type 18); in Labels also
// string selects and File Uploads (type 19, a real file picker: images, up to the component's max_values) and text
// displays. Submitting uploads the chosen files to the fake Discord's CDN first (Discord's client does the same:
// a modal's files arrive with the submit as attachments), then sends the modal-submit interaction.
import { call, upload } from './api.js';
import { $, el, messageOf, toast } from './dom.js';
import { markdownBlocks } from './markdown.js';

/** @typedef {import('../protocol.js').ModalEvent} ModalEvent */
/** @typedef {import('discord-api-types/v10').APITextInputComponent} APITextInputComponent */
/** @typedef {import('discord-api-types/v10').APIStringSelectComponent} APIStringSelectComponent */
/** @typedef {import('discord-api-types/v10').APIFileUploadComponent} APIFileUploadComponent */
/**
 * A top-level component of a modal as read here.
 * @typedef {{ type?: number; label?: string; description?: string; content?: string; component?: { type?: number }; components?: Array<{ type?: number }> }} ModalRow
 */

/** The image types the bot reads (what Discord's client offers for a File Upload here). */
const IMAGE_TYPES = 'image/png,image/jpeg,image/webp,image/gif';

/** The modal the dialog shows, with how to read each of its fields on submit. @type {{ event: ModalEvent; labels: boolean; selects: Map<string, HTMLSelectElement>; files: Map<string, HTMLInputElement> } | null} */
let shown = null;

/** @param {ModalEvent} event */
export function openModal(event) {
  const dialog = $('#modal', HTMLDialogElement);
  const modal = event.modal;
  $('#modal-title').textContent = modal.title;
  const fields = $('#modal-fields');
  fields.replaceChildren();
  /** @type {HTMLElement[]} */
  const controls = [];
  const current = { event, labels: false, selects: new Map(), files: new Map() };
  for (const raw of modal.components ?? []) {
    const row = /** @type {ModalRow} */ (/** @type {unknown} */ (raw));
    if (row.type === 10) {
      fields.append(el('div', { class: 'modal-text' }, ...markdownBlocks(row.content ?? '')));
      continue;
    }
    if (row.type === 18) current.labels = true;
    const inner = row.type === 18 ? row.component : row.components?.[0];
    if (!inner) continue;
    /** @type {HTMLElement | null} */
    let control = null;
    let label = row.label ?? '';
    let required = true;
    if (inner.type === 4) {
      const input = /** @type {APITextInputComponent} */ (/** @type {unknown} */ (inner));
      if (row.type !== 18) label = input.label ?? '';
      required = input.required !== false;
      control = textControl(input, required);
    } else if (inner.type === 3) {
      const select = /** @type {APIStringSelectComponent} */ (/** @type {unknown} */ (inner));
      required = select.required !== false;
      const node = selectControl(select, required);
      current.selects.set(select.custom_id, node);
      control = node;
    } else if (inner.type === 19) {
      const upload = /** @type {APIFileUploadComponent} */ (/** @type {unknown} */ (inner));
      required = upload.required !== false && (upload.min_values ?? 1) > 0;
      const node = fileControl(upload, required);
      current.files.set(upload.custom_id, node);
      control = node;
    }
    if (!control) continue;
    controls.push(control);
    const describedBy = row.description ? `${control.id}-description` : undefined;
    if (describedBy) control.setAttribute('aria-describedby', describedBy);
    fields.append(
      el(
        'div',
        { class: 'modal-field' },
        el('label', { for: control.id }, label, required ? el('span', { class: 'required', text: ' *' }) : null),
        row.description ? el('p', { class: 'modal-description', id: describedBy, text: row.description }) : null,
        control,
      ),
    );
  }
  shown = current;
  dialog.showModal();
  controls[0]?.focus();
}

/** @param {APITextInputComponent} input @param {boolean} required */
function textControl(input, required) {
  const control = el(input.style === 2 ? 'textarea' : 'input', {
    id: `modal-${input.custom_id}`,
    name: input.custom_id,
    required,
    minlength: input.min_length,
    maxlength: input.max_length,
    placeholder: input.placeholder,
  });
  if (input.value) control.value = input.value;
  return control;
}

/** A string select in a form: its default options chosen. @param {APIStringSelectComponent} select @param {boolean} required */
function selectControl(select, required) {
  const multiple = (select.max_values ?? 1) > 1;
  const node = el('select', { id: `modal-${select.custom_id}`, required, multiple });
  if (!multiple && !select.options.some((o) => o.default)) node.append(el('option', { value: '', text: select.placeholder ?? 'Make a selection' }));
  for (const o of select.options) {
    const option = el('option', { value: o.value, text: o.label, title: o.description, selected: o.default === true });
    node.append(option);
  }
  return node;
}

/** A File Upload: a file picker for images, checked against the component's min_values and max_values. @param {APIFileUploadComponent} upload @param {boolean} required */
function fileControl(upload, required) {
  const max = upload.max_values ?? 1;
  const min = required ? Math.max(1, upload.min_values ?? 1) : 0;
  const input = el('input', { type: 'file', id: `modal-${upload.custom_id}`, accept: IMAGE_TYPES, multiple: max > 1, required: min > 0 });
  const check = () => {
    const files = [...(input.files ?? [])];
    const notImage = files.find((f) => !f.type.startsWith('image/'));
    input.setCustomValidity(
      notImage ? `${notImage.name} is not an image.` : files.length > max ? `Choose at most ${max} file${max === 1 ? '' : 's'}.` : files.length < min ? `Choose at least ${min} file${min === 1 ? '' : 's'}.` : '',
    );
  };
  input.addEventListener('change', check);
  return input;
}

/** @param {SubmitEvent} event */
async function submitModal(event) {
  event.preventDefault();
  const form = $('#modal-form', HTMLFormElement);
  if (!form.reportValidity() || !shown) return;
  const current = shown;
  /** @type {Record<string, string>} */
  const fields = {};
  for (const node of form.querySelectorAll('input[name], textarea[name]')) {
    if (node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement) fields[node.name] = node.value;
  }
  /** @type {Record<string, string[]>} */
  const selects = {};
  for (const [customId, node] of current.selects) selects[customId] = [...node.selectedOptions].map((o) => o.value).filter((v) => v !== '');
  const submit = form.querySelector('button[type="submit"]');
  if (submit instanceof HTMLButtonElement) submit.disabled = true;
  try {
    // The files first, onto the fake Discord's CDN; the submit names them by attachment id.
    /** @type {Record<string, string[]>} */
    const uploads = {};
    for (const [customId, input] of current.files) uploads[customId] = await Promise.all([...(input.files ?? [])].map(async (file) => (await upload(file)).id));
    $('#modal', HTMLDialogElement).close();
    shown = null;
    await call('modal', { customId: current.event.modal.custom_id, fields, selects, uploads, labels: current.labels, sourceMessageId: current.event.sourceMessageId });
  } catch (err) {
    toast(messageOf(err));
  } finally {
    if (submit instanceof HTMLButtonElement) submit.disabled = false;
  }
}

export function wireModal() {
  $('#modal-form', HTMLFormElement).addEventListener('submit', (event) => void submitModal(event));
  $('#modal-cancel').addEventListener('click', () => {
    $('#modal', HTMLDialogElement).close();
    shown = null;
  });
}

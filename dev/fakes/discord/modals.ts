// Modals as Discord checks them (callback type 9) and their submits as Discord sends them: text inputs in an
// Action Row (the older way) or a Label (type 18), string selects and File Upload (type 19) in a Label, text
// displays; uploaded files arrive in `resolved.attachments`, referenced by id from the File Upload's `values`.
import { ComponentType, type APIAttachment } from 'discord-api-types/v10';
import { fieldError, invalidFormBody, maxLength, type ApiError } from './messages.js';

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const required = () => fieldError('BASE_TYPE_REQUIRED', 'This field is required');
const typeChoices = (allowed: readonly number[]) => fieldError('UNION_TYPE_CHOICES', `Value of field "type" must be one of (${allowed.join(', ')}).`);

const TOP_LEVEL: readonly number[] = [ComponentType.ActionRow, ComponentType.Label, ComponentType.TextDisplay];
const IN_LABEL: readonly number[] = [
  ComponentType.TextInput,
  ComponentType.StringSelect,
  ComponentType.UserSelect,
  ComponentType.RoleSelect,
  ComponentType.MentionableSelect,
  ComponentType.ChannelSelect,
  ComponentType.FileUpload,
];

/** One interactive component of a modal: its own limits, and a custom_id unique in the modal. */
function field(c: Record<string, unknown>, label: unknown, seen: Set<string>): Record<string, unknown> {
  const issue: Record<string, unknown> = {};
  if (typeof c.custom_id !== 'string' || c.custom_id.length === 0) issue.custom_id = required();
  else if (c.custom_id.length > 100) issue.custom_id = maxLength(100);
  else if (seen.has(c.custom_id)) issue.custom_id = fieldError('COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
  else seen.add(c.custom_id);
  if (c.disabled === true) issue.disabled = fieldError('COMPONENT_DISABLED_IN_MODAL', 'Modals cannot have disabled components.');
  switch (c.type) {
    case ComponentType.TextInput:
      if (typeof label !== 'string' || label.length === 0) issue.label = required();
      else if (label.length > 45) issue.label = maxLength(45);
      if (typeof c.value === 'string' && c.value.length > 4000) issue.value = maxLength(4000);
      if (typeof c.max_length === 'number' && c.max_length > 4000) issue.max_length = maxLength(4000);
      if (typeof c.placeholder === 'string' && c.placeholder.length > 100) issue.placeholder = maxLength(100);
      break;
    case ComponentType.StringSelect: {
      const options = Array.isArray(c.options) ? c.options : [];
      if (options.length < 1 || options.length > 25) issue.options = fieldError('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 25 in length.');
      break;
    }
    case ComponentType.FileUpload: {
      const min = typeof c.min_values === 'number' ? c.min_values : 1;
      const max = typeof c.max_values === 'number' ? c.max_values : 1;
      if (min < 0 || min > 10) issue.min_values = fieldError('NUMBER_TYPE_MAX', 'Must be between 0 and 10.');
      if (max < 1 || max > 10) issue.max_values = fieldError('NUMBER_TYPE_MAX', 'Must be between 1 and 10.');
      else if (min > max) issue.min_values = fieldError('NUMBER_TYPE_MAX', 'Must not be more than max_values.');
      if (c.required !== false && min < 1) issue.min_values = fieldError('NUMBER_TYPE_MIN', 'Must be at least 1 when the upload is required.');
      break;
    }
    default:
      break;
  }
  return issue;
}

/** The checks Discord makes on a modal callback's data; errors keyed under `data`. */
export function validateModal(data: Record<string, unknown>): ApiError | undefined {
  const problems: Record<string, unknown> = {};
  if (typeof data.title !== 'string' || data.title.length === 0) problems.title = required();
  else if (data.title.length > 45) problems.title = maxLength(45);
  if (typeof data.custom_id !== 'string' || data.custom_id.length === 0) problems.custom_id = required();
  else if (data.custom_id.length > 100) problems.custom_id = maxLength(100);
  const components = Array.isArray(data.components) ? (data.components as unknown[]) : [];
  if (components.length === 0) problems.components = required();
  else if (components.length > 5) problems.components = maxLength(5);
  const seen = new Set<string>();
  const byIndex: Record<string, unknown> = {};
  components.forEach((raw, index) => {
    const top = obj(raw);
    if (!TOP_LEVEL.includes(top.type as number)) {
      byIndex[index] = { type: typeChoices(TOP_LEVEL) };
      return;
    }
    if (top.type === ComponentType.TextDisplay) {
      if (typeof top.content !== 'string' || top.content.length === 0) byIndex[index] = { content: required() };
      return;
    }
    if (top.type === ComponentType.Label) {
      const issue: Record<string, unknown> = {};
      if (typeof top.label !== 'string' || top.label.length === 0) issue.label = required();
      else if (top.label.length > 45) issue.label = maxLength(45);
      if (typeof top.description === 'string' && top.description.length > 100) issue.description = maxLength(100);
      const inner = obj(top.component);
      if (!IN_LABEL.includes(inner.type as number)) issue.component = { type: typeChoices(IN_LABEL) };
      else {
        // Inside a Label, the Label names the text input: its own `label` is not taken.
        const own = field(inner, top.label, seen);
        if (inner.type === ComponentType.TextInput && inner.label !== undefined) own.label = fieldError('COMPONENT_LABEL_IN_LABEL', 'A text input in a Label takes no label of its own.');
        if (Object.keys(own).length > 0) issue.component = own;
      }
      if (Object.keys(issue).length > 0) byIndex[index] = issue;
      return;
    }
    // An Action Row (the older way) holds one text input, labelled by itself.
    const inner = Array.isArray(top.components) ? (top.components as unknown[]).map(obj) : [];
    if (inner.length !== 1 || inner[0]?.type !== ComponentType.TextInput) {
      byIndex[index] = { components: fieldError('MODAL_ACTION_ROW_TEXT_INPUT_ONLY', 'An action row in a modal holds exactly one text input.') };
      return;
    }
    const own = field(inner[0], inner[0].label, seen);
    if (Object.keys(own).length > 0) byIndex[index] = { components: { 0: own } };
  });
  if (Object.keys(byIndex).length > 0 && problems.components === undefined) problems.components = byIndex;
  return Object.keys(problems).length > 0 ? invalidFormBody({ data: problems }) : undefined;
}

/** What a member put in a modal, by the custom_id of each field. */
export interface ModalAnswers {
  /** Text input values. */
  fields: Record<string, string>;
  /** String select choices. */
  selects?: Record<string, string[]>;
  /** Files given to a File Upload (attachments made with the fake's addAttachment). */
  uploads?: Record<string, APIAttachment[]>;
  /** 'actionRow' (classic, default) wraps each text input in an action row; 'label' uses Label (type 18). */
  layout?: 'actionRow' | 'label';
}

/**
 * The submit's `data.components` and `data.resolved`, as Discord sends them: selects and uploads always in a Label,
 * an upload's files in `resolved.attachments` (flagged ephemeral, as modal uploads are), `render` giving each its
 * fresh URLs.
 */
export function modalSubmitComponents(answers: ModalAnswers, render: (a: APIAttachment) => APIAttachment): { components: unknown[]; resolved?: Record<string, unknown> } {
  let nextId = 1;
  const inLabel = (component: Record<string, unknown>) => {
    const id = nextId++;
    return { type: ComponentType.Label, id, component: { ...component, id: nextId++ } };
  };
  const components: unknown[] = Object.entries(answers.fields).map(([customId, value]) => {
    const textInput = { type: ComponentType.TextInput, custom_id: customId, value };
    if (answers.layout === 'label') return inLabel(textInput);
    const rowId = nextId++;
    return { type: ComponentType.ActionRow, id: rowId, components: [{ ...textInput, id: nextId++ }] };
  });
  for (const [customId, values] of Object.entries(answers.selects ?? {})) components.push(inLabel({ type: ComponentType.StringSelect, custom_id: customId, values }));
  const attachments: Record<string, unknown> = {};
  for (const [customId, files] of Object.entries(answers.uploads ?? {})) {
    components.push(inLabel({ type: ComponentType.FileUpload, custom_id: customId, values: files.map((f) => f.id) }));
    for (const file of files) attachments[file.id] = { ...render(file), ephemeral: true };
  }
  return Object.keys(attachments).length > 0 ? { components, resolved: { attachments } } : { components };
}

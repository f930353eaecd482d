import { isSnowflake } from './snowflake.js';

/*
 * Every custom_id the bot puts on a result's buttons and on its edit forms, written and read here only. A custom_id
 * is routed by its first two parts (`job:reroll:<job id>` → the handler `job:reroll`, argument `<job id>`). What
 * comes back is text the client sends: anyone can forge one, so every reader checks its shape here, and the
 * handlers check that the job belongs where it is used (job-access.ts).
 */

/** The routing prefixes of the handlers behind these custom_ids. */
export const Prefixes = {
  reroll: 'job:reroll',
  edit: 'job:edit',
  retry: 'job:retry',
  /** A variation of one image: the same prompt, the image as the source. */
  vary: 'job:vary',
  /** One image made again with uni-1-max: asks first, saying the price. */
  enhance: 'job:enhance',
  /** The confirmation of an Enhance, after its price was shown. */
  enhanceConfirm: 'job:enhanceok',
  /** The form behind a result's Edit button. */
  editModal: 'modal:edit',
  /** The form of the "Edit image" message menu. */
  editImageModal: 'modal:editimg',
  /** The same form where the bot cannot read the message again (a user install): its images kept in storage. */
  editImageStoredModal: 'modal:editimgs',
  /** A select of /settings (`set:member:<field>`) and of the server's defaults (`set:server:<field>`). */
  memberSetting: 'set:member',
  serverSetting: 'set:server',
  /** "Reset all" under either (`set:reset:member`, `set:reset:server`). */
  resetSettings: 'set:reset',
} as const;

/** A job id as the bot makes them (short, URL- and custom_id-safe), as a regular-expression source. */
export const JOB_ID_PATTERN = '[A-Za-z0-9_-]{1,32}';
const JOB_ID = new RegExp(`^${JOB_ID_PATTERN}$`);
const RESULT_BUTTON = new RegExp(`^job:(?:edit|reroll|retry|vary|enhance):(${JOB_ID_PATTERN})$`);

/** What an "Edit image" form is about; the form's submit carries nothing else. */
export interface EditImageTarget {
  channelId: string;
  messageId: string;
  /** Images the message showed when the form was opened (1 means no choice was asked for). */
  count: number;
  /** Set when the message is one of the bot's results: its job, edited through its generation_id. */
  jobId?: string;
}

export const CustomIds = {
  reroll: (jobId: string) => `${Prefixes.reroll}:${jobId}`,
  edit: (jobId: string) => `${Prefixes.edit}:${jobId}`,
  retry: (jobId: string) => `${Prefixes.retry}:${jobId}`,
  vary: (jobId: string) => `${Prefixes.vary}:${jobId}`,
  enhance: (jobId: string) => `${Prefixes.enhance}:${jobId}`,
  enhanceConfirm: (jobId: string) => `${Prefixes.enhanceConfirm}:${jobId}`,
  editModal: (jobId: string) => `${Prefixes.editModal}:${jobId}`,
  /** `modal:editimg:<channel>:<message>:<image count>[:<job id>]`, at most 70 characters (Discord allows 100). */
  /** `modal:editimgs:<form id>`: the form's state is in storage (forms.ts). */
  editImageStoredModal: (formId: string) => `${Prefixes.editImageStoredModal}:${formId}`,
  editImageModal: (target: EditImageTarget) =>
    `${Prefixes.editImageModal}:${target.channelId}:${target.messageId}:${target.count}${target.jobId !== undefined ? `:${target.jobId}` : ''}`,
} as const;

/** The handler prefix of a custom_id and the rest, its argument. */
export function splitCustomId(customId: string): { prefix: string; arg: string } {
  const [first = '', second = '', ...rest] = customId.split(':');
  return { prefix: `${first}:${second}`, arg: rest.join(':') };
}

/** The job id of a result's or failure notice's button (`job:edit:<id>` and the like), if it is one. */
export function jobIdOfButton(customId: string): string | undefined {
  return RESULT_BUTTON.exec(customId)?.[1];
}

/** The target an "Edit image" form's argument names, or undefined when it is not one the bot could have written. */
export function readEditImageTarget(arg: string): EditImageTarget | undefined {
  const [channelId = '', messageId = '', countText = '', jobId] = arg.split(':');
  const count = Number(countText);
  if (!isSnowflake(channelId) || !isSnowflake(messageId)) return undefined;
  if (!Number.isInteger(count) || count < 1 || count > 100) return undefined;
  if (jobId !== undefined && !JOB_ID.test(jobId)) return undefined;
  return { channelId, messageId, count, ...(jobId !== undefined ? { jobId } : {}) };
}

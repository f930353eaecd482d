import { randomBytes } from 'node:crypto';
import type { Storage } from '../storage/index.js';
import type { ImageCandidate } from './attachments.js';

/** How long an open "Edit image" form's state is kept: the attachment URLs it holds live about a day. */
const FORM_TTL_MS = 24 * 3600_000;

/** What an "Edit image" form opened where the bot cannot read the message again is about (a user install). */
export interface StoredEditForm {
  channelId: string;
  messageId: string;
  /** The images the message showed, as the interaction gave them (resolved.messages), in the order shown. */
  images: ImageCandidate[];
  /** For each image, the job of the bot's result it is, when it is one (edited through its generation_id). */
  jobIds: Array<string | null>;
}

/**
 * State of open forms, kept in storage under a short id that the form's custom_id carries (a custom_id holds 100
 * characters; a message's image URLs do not fit). Kept a day; a form submitted later is refused as expired.
 */
export class EditForms {
  constructor(private readonly storage: Pick<Storage, 'get' | 'set'>) {}

  async put(form: StoredEditForm): Promise<string> {
    const id = randomBytes(9).toString('base64url');
    await this.storage.set(`forms:edit:${id}`, form, FORM_TTL_MS);
    return id;
  }

  async get(id: string): Promise<StoredEditForm | undefined> {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) return undefined;
    const form = await this.storage.get<StoredEditForm>(`forms:edit:${id}`);
    return form && Array.isArray(form.images) && Array.isArray(form.jobIds) ? form : undefined;
  }
}

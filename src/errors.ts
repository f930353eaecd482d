import { randomBytes } from 'node:crypto';

/**
 * An error whose message is meant for the member who caused it (bad input, quota, moderation). The text is
 * shown as is; anything else is logged and shown as an apology with a reference id.
 */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly options: { ephemeral?: boolean; code?: string } = {},
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}

/** A short id a member can quote and an operator can grep for (`ref` in the logs). */
export function newReference(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}

export function apology(ref: string): string {
  return `Something went wrong on our side. Please try again in a moment; if it keeps happening, give the bot's operator this reference: \`${ref}\`.`;
}

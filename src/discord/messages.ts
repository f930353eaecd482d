import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import { fromApiMessage, type MessageSnapshot } from './message-images.js';
import { DiscordCodes, discordErrorCode, discordStatus, type DiscordResponder } from './transport/responder.js';

/** How commands read a message by REST ("Edit image" on submit), without the responder's other powers. */
export interface MessageReader {
  /** The message as it is now, with fresh attachment URLs; a UserFacingError when it is gone or out of the bot's sight. */
  fetch(channelId: string, messageId: string, locale?: string): Promise<MessageSnapshot>;
}

export function messageReader(discord: Pick<DiscordResponder, 'fetchMessage'>): MessageReader {
  return {
    async fetch(channelId, messageId, locale) {
      try {
        return fromApiMessage(await discord.fetchMessage(channelId, messageId));
      } catch (err) {
        const code = discordErrorCode(err);
        const status = discordStatus(err);
        if (code === DiscordCodes.UnknownMessage || code === DiscordCodes.UnknownChannel || (code === undefined && status === 404)) {
          throw new UserFacingError(t(locale, 'refuse.editImage.messageGone'), { code: 'message_gone' });
        }
        if (code === DiscordCodes.MissingAccess || code === DiscordCodes.MissingPermissions || status === 403) {
          throw new UserFacingError(t(locale, 'refuse.editImage.unreadable'), { code: 'message_unreadable' });
        }
        throw err;
      }
    },
  };
}

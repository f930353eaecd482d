import type { BaseInteraction } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { JobRecord } from '../jobs/types.js';

/**
 * A custom_id is text the client sends back: anyone can forge one naming any job. A job is acted on (rerolled,
 * edited, retried) only from the place it belongs to — its server, or for a job made outside servers its own
 * DM or group DM — or from the member's own DMs when it is theirs (a result the bot delivered by DM). Otherwise
 * a forged button in another server would run, and show, someone else's prompt and image there.
 */
export function jobBelongsHere(job: JobRecord, interaction: BaseInteraction): boolean {
  const made = job.requester;
  if (made.guildId !== null) {
    if (made.guildId === interaction.guildId) return true;
  } else if (made.channelId !== null && made.channelId === interaction.channelId) {
    return true;
  }
  return interaction.guildId === null && made.userId === interaction.user.id;
}

export function refuseForeignJob(job: JobRecord, interaction: BaseInteraction): void {
  if (jobBelongsHere(job, interaction)) return;
  throw new UserFacingError(t(interaction.locale, 'refuse.foreignJob'), { code: 'foreign_job' });
}

import { t } from '../i18n/index.js';
import type { ProgressState } from '../jobs/delivery.js';
import type { JobRecord } from '../jobs/types.js';
import { truncate } from '../text.js';

export { truncate };

/** Keeps a member's prompt from pinging or breaking out of the quote it is shown in. */
export function quotePrompt(prompt: string, max = 300): string {
  const clean = prompt.replace(/@(everyone|here)/g, '@\u200b$1').replace(/`/g, 'ˋ').replace(/\s+/g, ' ').trim();
  return truncate(clean, max);
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Elapsed time shown in 5-second steps: the text (and so the reply) changes at most every 5 s. */
function coarseElapsed(ms: number): string {
  return formatDuration(Math.floor(ms / 5000) * 5000);
}

/**
 * Which language a job's messages are in. The member's own (`interaction.locale`) for what answers them: progress
 * edits of their reply, failure notices there. The server's (`guild_locale`, else the member's) for what the
 * channel reads: the result embed and its buttons, channel posts and DMs sent after the token expired.
 */
export function memberLocale(job: Pick<JobRecord, 'requester'>): string | undefined {
  return job.requester.locale;
}
export function publicLocale(job: Pick<JobRecord, 'requester'>): string | undefined {
  return job.requester.placeLocale ?? job.requester.locale;
}

/** The progress line of a job at `state`, as its member's reply shows it at `now`. */
export function progressText(job: JobRecord, state: ProgressState, now: number): string {
  const locale = memberLocale(job);
  const prompt = quotePrompt(job.display.prompt, 200);
  const head = job.group ? t(locale, 'progress.imaginingMany', { count: job.group.jobIds.length, prompt }) : t(locale, job.kind === 'edit' ? 'progress.editing' : 'progress.imagining', { prompt });
  let line: string;
  switch (state.stage) {
    case 'lumaDown':
      line = t(locale, 'progress.lumaDown');
      break;
    case 'lumaBusy':
      line = state.position !== undefined ? t(locale, 'progress.lumaBusyInLine', { position: state.position }) : t(locale, 'progress.lumaBusy');
      break;
    case 'waiting':
      line = state.position !== undefined && state.position > 0 ? t(locale, 'progress.waitingInLine', { position: state.position }) : t(locale, 'progress.sending');
      break;
    case 'sending':
      line = t(locale, 'progress.sending');
      break;
    case 'lumaSilent':
      line = t(locale, 'progress.lumaSilent');
      break;
    case 'generating': {
      const elapsed = now - state.since;
      const seconds = state.estimateMs !== undefined ? Math.max(5, Math.round(state.estimateMs / 5000) * 5) : undefined;
      // Once this job runs well past the usual time, "usually about 5 s" would only be wrong: it goes.
      const estimate = seconds !== undefined && elapsed <= seconds * 1500 ? t(locale, 'progress.estimate', { seconds }) : '';
      line = t(locale, 'progress.generating', { elapsed: coarseElapsed(elapsed), estimate });
      break;
    }
    case 'atLuma':
      line = t(locale, 'progress.queuedAtLuma', { elapsed: coarseElapsed(now - state.since) });
      break;
    case 'finishing':
      line = t(locale, 'progress.finishing');
      break;
  }
  // What a uni-1-max image costs whoever asked (a Reroll or Edit of someone else's result is charged to the presser).
  const cost = job.display.model === 'uni-1-max' && job.quota ? `\n${t(locale, 'progress.maxCost', { units: job.quota.units })}` : '';
  return `${head}\n${line}${cost}`;
}

export function resultFilename(job: JobRecord, contentType: string): string {
  const ext = contentType === 'image/jpeg' ? 'jpg' : contentType === 'image/webp' ? 'webp' : 'png';
  return `luma-${job.id}.${ext}`;
}

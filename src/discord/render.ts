import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIComponentInMessageActionRow, type APIEmbed } from 'discord.js';
import { t } from '../i18n/index.js';
import { failureText } from '../jobs/failures.js';
import type { ProgressState } from '../jobs/delivery.js';
import type { JobRecord } from '../jobs/types.js';
import { CustomIds } from './custom-ids.js';
import type { OutgoingMessage } from './transport/responder.js';

const BRAND_COLOUR = 0x7c3aed;
const FAILURE_COLOUR = 0xdc2626;

/** Whole user-perceived characters: an emoji (a surrogate pair, or several joined by ZWJ) is one. */
const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Shortens text to at most `max` UTF-16 units (Discord's limits: embed descriptions hold 4096, prompts hold 6000),
 * ending in "…". It cuts between whole characters only: half an emoji is a lone surrogate, which Discord shows as
 * a broken glyph or refuses with a 400.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  for (const { segment } of GRAPHEMES.segment(text)) {
    if (end + segment.length > max - 1) break;
    end += segment.length;
  }
  return `${text.slice(0, end).trimEnd()}…`;
}

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
  const head = t(locale, job.kind === 'edit' ? 'progress.editing' : 'progress.imagining', { prompt: quotePrompt(job.display.prompt, 200) });
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

export function resultEmbed(job: JobRecord, filename: string, opts: { compressed?: boolean } = {}): APIEmbed {
  const d = job.display;
  const locale = publicLocale(job);
  const took = job.completedAt !== undefined ? formatDuration(job.completedAt - job.createdAt) : undefined;
  const fields: APIEmbed['fields'] = [
    { name: t(locale, 'result.model'), value: d.model, inline: true },
    ...(job.kind === 'imagine' ? [{ name: t(locale, 'result.aspectRatio'), value: d.aspectRatio ?? t(locale, 'result.auto'), inline: true }] : []),
    { name: t(locale, 'result.style'), value: d.style, inline: true },
    { name: t(locale, 'result.requestedBy'), value: `<@${job.requester.userId}>`, inline: true },
  ];
  if (took) fields.push({ name: t(locale, 'result.took'), value: took, inline: true });
  if (d.references > 0) fields.push({ name: t(locale, 'result.references'), value: String(d.references), inline: true });
  if (d.webSearch) fields.push({ name: t(locale, 'result.webSearch'), value: t(locale, 'result.on'), inline: true });
  if (d.sourceLink) fields.push({ name: t(locale, 'result.editedFrom'), value: d.sourceLink, inline: false });
  const notes: string[] = [];
  if (opts.compressed) notes.push(t(locale, 'result.compressed'));
  return {
    title: t(locale, job.kind === 'edit' ? 'result.title.edit' : 'result.title.imagine'),
    description: truncate(job.display.prompt.replace(/@(everyone|here)/g, '@\u200b$1'), 1500),
    color: BRAND_COLOUR,
    image: { url: `attachment://${filename}` },
    fields,
    // `job <id>` stays as is in every language: it is how "Edit image" finds the job of a result (message-images.ts).
    footer: { text: [`job ${job.id}`, ...notes].join(' · ') },
  };
}

export function resultButtons(job: JobRecord): APIActionRowComponent<APIComponentInMessageActionRow> {
  const locale = publicLocale(job);
  return {
    type: ComponentType.ActionRow,
    components: [
      { type: ComponentType.Button, style: ButtonStyle.Secondary, label: t(locale, 'result.reroll'), emoji: { name: '🎲' }, custom_id: CustomIds.reroll(job.id) },
      { type: ComponentType.Button, style: ButtonStyle.Primary, label: t(locale, 'result.edit'), emoji: { name: '✏️' }, custom_id: CustomIds.edit(job.id) },
    ],
  };
}

export function resultMessage(
  job: JobRecord,
  file: { name: string; data: Buffer; contentType: string },
  opts: { mention?: boolean; compressed?: boolean } = {},
): OutgoingMessage {
  return {
    content: opts.mention ? t(publicLocale(job), 'result.ready', { user: `<@${job.requester.userId}>` }) : '',
    embeds: [resultEmbed(job, file.name, opts)],
    components: [resultButtons(job)],
    files: [file],
    replaceAttachments: true,
    ...(opts.mention ? { allowedUserMentions: [job.requester.userId] } : {}),
  };
}

/**
 * The failure notice: in the member's language in their own reply, in the server's when it is posted in the
 * channel or sent by DM after the token expired (`public`).
 */
export function failureMessage(job: JobRecord, opts: { public?: boolean } = {}): OutgoingMessage {
  const locale = opts.public ? publicLocale(job) : memberLocale(job);
  const f = job.failure;
  const text = f ? failureText(locale, f) : t(locale, 'failure.generic');
  const ref = f?.ref ? `\n${t(locale, 'failure.reference', { ref: f.ref })}` : '';
  return {
    content: '',
    embeds: [
      {
        title: t(locale, job.kind === 'edit' ? 'failure.title.edit' : 'failure.title.imagine'),
        description: `${text}${ref}`,
        color: FAILURE_COLOUR,
        fields: [{ name: t(locale, 'failure.prompt'), value: quotePrompt(job.display.prompt, 1000) || '—' }],
        footer: { text: `job ${job.id}` },
      },
    ],
    components: f?.retryable
      ? [
          {
            type: ComponentType.ActionRow,
            components: [
              { type: ComponentType.Button, style: ButtonStyle.Primary, label: t(locale, 'failure.retry'), emoji: { name: '🔁' }, custom_id: CustomIds.retry(job.id) },
            ],
          },
        ]
      : [],
    replaceAttachments: true,
  };
}

/**
 * The same message without embed or buttons, its text folded into `content` (Discord's 2000 characters): what is
 * sent once more when Discord refuses a message with a 400, so a result it will not take in full still arrives.
 */
export function plainMessage(msg: OutgoingMessage): OutgoingMessage {
  const lines = [msg.content ?? ''];
  for (const e of msg.embeds ?? []) {
    if (e.title) lines.push(`**${e.title}**`);
    if (e.description) lines.push(e.description);
    if (e.footer?.text) lines.push(`-# ${e.footer.text}`);
  }
  return { ...msg, content: truncate(lines.filter((l) => l !== '').join('\n'), 2000), embeds: [], components: [] };
}

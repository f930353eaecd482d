import {
  ActionRowBuilder,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ButtonBuilder,
  ButtonStyle,
  InteractionContextType,
  type ButtonInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { ComponentHandler, SlashCommand } from '../src/discord/command.js';
import { deferForMember } from '../src/discord/defaults.js';
import { startJob } from '../src/discord/start-job.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';
import { HISTORY_MAX } from '../src/jobs/history.js';
import { ACTIVE_STEPS, type JobRecord } from '../src/jobs/types.js';
import { discordTime } from '../src/quota/periods.js';

/*
 * /history: a member's recent requests where they are (this server, or DMs), newest first, five to a page —
 * prompt, model, state, when, a link to the result — with a button to send any of them again (a new job,
 * charged like one). Private. The page and the job live in the buttons' custom_ids and in storage, so the
 * buttons keep working after a restart.
 */

export const HISTORY_PAGE_SIZE = 5;
const PROMPT_PREVIEW = 80;

export const historyIds = {
  page: (page: number) => `history:page:${page}`,
  again: (jobId: string) => `history:again:${jobId}`,
};

type Locale = string | null | undefined;

function stateText(locale: Locale, job: JobRecord): string {
  if (ACTIVE_STEPS.includes(job.step)) return t(locale, 'history.state.active');
  if (job.step === 'done') return t(locale, 'history.state.done');
  if (job.step === 'undelivered') return t(locale, 'history.state.undelivered');
  return t(locale, 'history.state.failed');
}

/** The prompt on one line, short, with Discord's markdown neutralized. */
function preview(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  const short = flat.length > PROMPT_PREVIEW ? `${flat.slice(0, PROMPT_PREVIEW - 1)}…` : flat;
  return short.replace(/([\\`*_~|>[\]()#-])/g, '\\$1');
}

function resultLink(job: JobRecord): string | undefined {
  const d = job.delivery;
  if (job.step !== 'done' || !d?.messageId) return undefined;
  return `https://discord.com/channels/${job.requester.guildId ?? '@me'}/${d.channelId ?? job.requester.channelId ?? '@me'}/${d.messageId}`;
}

/** One page of a member's history, as message content and buttons. */
export async function historyPage(ctx: BotContext, locale: Locale, guildId: string | null, userId: string, requested: number) {
  const ids = await ctx.history.ids(guildId, userId);
  if (ids.length === 0) return { content: t(locale, 'history.empty', { max: HISTORY_MAX }), components: [] };
  const pages = Math.ceil(ids.length / HISTORY_PAGE_SIZE);
  const page = Math.min(Math.max(0, requested), pages - 1);
  const slice = ids.slice(page * HISTORY_PAGE_SIZE, (page + 1) * HISTORY_PAGE_SIZE);
  const jobs = await Promise.all(slice.map((id) => ctx.jobs.get(id)));
  const lines = [t(locale, guildId !== null ? 'history.title' : 'history.titleDm', { page: page + 1, pages })];
  const again = new ActionRowBuilder<ButtonBuilder>();
  jobs.forEach((job, i) => {
    const n = page * HISTORY_PAGE_SIZE + i + 1;
    if (!job) {
      lines.push(t(locale, 'history.gone', { n }));
      return;
    }
    const url = resultLink(job);
    lines.push(
      t(locale, 'history.line', {
        n,
        prompt: preview(job.display.prompt),
        model: job.display.model,
        state: stateText(locale, job),
        when: discordTime(job.createdAt),
        link: url ? t(locale, 'history.link', { url }) : '',
      }),
    );
    again.addComponents(new ButtonBuilder().setCustomId(historyIds.again(job.id)).setLabel(t(locale, 'history.again', { n })).setStyle(ButtonStyle.Secondary));
  });
  const nav = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(historyIds.page(page - 1)).setLabel(t(locale, 'history.newer')).setStyle(ButtonStyle.Primary).setDisabled(page === 0),
    new ButtonBuilder().setCustomId(historyIds.page(page + 1)).setLabel(t(locale, 'history.older')).setStyle(ButtonStyle.Primary).setDisabled(page >= pages - 1),
  );
  const components = [...(again.components.length > 0 ? [again] : []), ...(pages > 1 ? [nav] : [])];
  return { content: lines.join('\n'), components };
}

const data = {
  type: ApplicationCommandType.ChatInput,
  name: english('cmd.history.name'),
  description: english('cmd.history.description'),
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export const history: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    await ctx.acks.defer(interaction, { ephemeral: true });
    const page = await historyPage(ctx, interaction.locale, interaction.guildId, interaction.user.id, 0);
    await interaction.editReply({ ...page, allowedMentions: { parse: [] } });
  },
};

/** ◀ Newer / Older ▶: the same private message, another page. Whoever sees it is its owner (it is ephemeral). */
const pageButton: ComponentHandler = {
  prefix: 'history:page',
  async button(interaction, arg, ctx) {
    const requested = Number.parseInt(arg, 10);
    const page = await historyPage(ctx, interaction.locale, interaction.guildId, interaction.user.id, Number.isSafeInteger(requested) ? requested : 0);
    await interaction.update({ ...page, allowedMentions: { parse: [] } });
  },
};

/** "Send N again": the same request as a new job, through the same path as /imagine — checked and charged anew. */
const againButton: ComponentHandler = {
  prefix: 'history:again',
  async button(interaction: ButtonInteraction, jobId: string, ctx: BotContext) {
    const locale = interaction.locale;
    const job = await ctx.jobs.get(jobId);
    if (!job) throw new UserFacingError(t(locale, 'history.jobGone'), { code: 'job_gone' });
    if (job.requester.userId !== interaction.user.id) throw new UserFacingError(t(locale, 'history.notYours'), { code: 'not_owner' });
    if (job.requester.guildId !== interaction.guildId) throw new UserFacingError(t(locale, 'history.otherPlace'), { code: 'other_place' });
    await deferForMember(interaction, ctx);
    const { user_id: _ignored, ...request } = job.request;
    // As many images as the request asked for.
    await startJob(interaction, ctx, { kind: job.kind, request, inputs: job.inputs, display: job.display, parentJobId: job.id }, { count: job.group?.jobIds.length ?? 1 });
  },
};

export const historyButtons: readonly ComponentHandler[] = [pageButton, againButton];

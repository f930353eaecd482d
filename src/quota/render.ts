import { describeLimit, type Limit, type LimitSource } from './model.js';
import { discordTime, periodPhrase } from './periods.js';
import type { GuildOverview, QuotaStatus } from './service.js';

/** Discord's message content limit. */
const MAX_CONTENT = 2000;

export function describeCosts(weights: QuotaStatus['weights']): string {
  const max = weights['uni-1-max'];
  return `uni-1 costs ${weights['uni-1']} unit, uni-1-max costs ${max} unit${max === 1 ? '' : 's'} per image`;
}

function describeSource(source: LimitSource): string {
  switch (source.kind) {
    case 'user':
      return 'set for you by a server admin';
    case 'role':
      return `from your role <@&${source.roleId}>`;
    case 'default':
      return source.configured ? "the server's default" : "the bot's default";
    case 'personal':
      return "the bot's default for DMs and user-installed use";
  }
}

/** What /quota answers. */
export function renderStatus(s: QuotaStatus): string {
  const where = s.scope.kind === 'guild' ? 'on this server' : 'in DMs and user-installed use';
  const { limit, period } = s.allowance;
  const lines = [
    `**Your image quota ${where}**`,
    `Allowance: **${describeLimit(limit, period)}** (${describeSource(s.allowance.source)})`,
    limit === 'unlimited'
      ? `Used ${periodPhrase(period)}: **${s.used}** units`
      : `Used ${periodPhrase(period)}: **${s.used}** · Remaining: **${s.remaining}** units`,
    `Resets ${discordTime(s.resetAt)} (${discordTime(s.resetAt, 'f')}; periods are counted in UTC).`,
    `Costs: ${describeCosts(s.weights)}. Images that fail through no fault of yours are given back; images blocked by Luma's safety filter count.`,
  ];
  if (s.serverTotal) {
    lines.push(`Whole server: ${s.serverTotal.used} of ${s.serverTotal.limit} shared units used ${periodPhrase(period)}.`);
  }
  if (s.spendCapResetAt !== undefined) {
    lines.push(`⚠️ The bot has reached its daily spending limit; new images can be made again ${discordTime(s.spendCapResetAt)}.`);
  }
  return lines.join('\n');
}

function limitText(limit: Limit): string {
  return limit === 'unlimited' ? 'unlimited' : String(limit);
}

/** Lines as long as fit in one message; the rest summarized. */
function fit(head: string[], entries: string[], tail: string[]): string {
  const fixed = [...head, ...tail].join('\n').length + 40;
  const shown: string[] = [];
  let length = fixed;
  for (const e of entries) {
    if (length + e.length + 1 > MAX_CONTENT) break;
    shown.push(e);
    length += e.length + 1;
  }
  const more = entries.length - shown.length;
  return [...head, ...shown, ...(more > 0 ? [`…and ${more} more`] : []), ...tail].join('\n');
}

/** What /quota-admin show answers. */
export function renderOverview(o: GuildOverview, weights: QuotaStatus['weights']): string {
  const s = o.settings;
  const head = [
    '**Image quotas on this server**',
    `Period: **${o.period}**${s.period === undefined ? " (the bot's default)" : ''} — resets ${discordTime(o.resetAt)} (${discordTime(o.resetAt, 'f')}), counted in UTC.`,
    s.defaultLimit !== undefined
      ? `Default: **${describeLimit(s.defaultLimit, o.period)}**`
      : `Default: **${describeLimit(o.fallback.limit, o.period)}** (the bot's default; set yours with /quota-admin set-default)`,
    s.serverTotal !== undefined
      ? `Server total: **${s.serverTotal}** units per ${o.period}, ${o.serverTotalUsed} used ${periodPhrase(o.period)}`
      : 'Server total: none',
  ];
  const roles = Object.entries(s.roles);
  const users = Object.entries(s.users);
  const entries: string[] = [];
  entries.push(roles.length === 0 ? 'Role limits: none' : `Role limits (${roles.length}; a member gets the most generous of theirs, instead of the default):`);
  for (const [id, limit] of roles) entries.push(`• <@&${id}>: ${limitText(limit)}`);
  entries.push(users.length === 0 ? 'Member overrides: none' : `Member overrides (${users.length}; these beat roles and the default):`);
  for (const [id, limit] of users) entries.push(`• <@${id}>: ${limitText(limit)}`);
  const tail = [`Costs: ${describeCosts(weights)}.`];
  return fit(head, entries, tail);
}

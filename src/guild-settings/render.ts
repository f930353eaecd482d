import { t } from '../i18n/index.js';
import type { GuildPolicy, Refusal } from './model.js';

/** Channel mentions, as many as read well in one message; the rest counted. */
export function channelList(locale: string | null | undefined, ids: readonly string[], max = 15): string {
  const shown = ids.slice(0, max).map((id) => `<#${id}>`);
  if (ids.length > max) shown.push(t(locale, 'common.andMore', { n: ids.length - max }));
  return shown.join(', ');
}

/** What a member is told, privately, when the server's policy refuses a request. */
export function refusalText(locale: string | null | undefined, r: Refusal): string {
  switch (r.kind) {
    case 'channel':
      return t(locale, 'policy.refuse.channel', { channels: channelList(locale, r.allowed) });
    case 'thread':
      return r.allowed.length > 0 ? t(locale, 'policy.refuse.thread', { channels: channelList(locale, r.allowed) }) : t(locale, 'policy.refuse.threadAnywhere');
    case 'age':
      return r.allowed.length > 0 ? t(locale, 'policy.refuse.ageWhere', { channels: channelList(locale, r.allowed) }) : t(locale, 'policy.refuse.age');
    case 'term':
      return t(locale, 'policy.refuse.term', { term: r.term });
  }
}

/** What /bot-admin show answers. Terms are listed for the admins only (the reply is private). */
export function renderPolicy(locale: string | null | undefined, p: GuildPolicy): string {
  const terms = p.blockedTerms.map((x) => `\`${x.replace(/`/g, "'")}\``);
  let termList = terms.join(', ');
  if (termList.length > 1200) {
    const kept: string[] = [];
    for (const x of terms) {
      if (kept.join(', ').length + x.length > 1150) break;
      kept.push(x);
    }
    termList = `${kept.join(', ')} ${t(locale, 'common.andMore', { n: terms.length - kept.length })}`;
  }
  return [
    t(locale, 'policy.show.title'),
    p.channels.length === 0 ? t(locale, 'policy.show.channelsAll') : t(locale, 'policy.show.channels', { channels: channelList(locale, p.channels, 30) }),
    t(locale, p.threadsInherit ? 'policy.show.threadsYes' : 'policy.show.threadsNo'),
    t(locale, p.requireAgeRestricted ? 'policy.show.ageYes' : 'policy.show.ageNo'),
    p.blockedTerms.length === 0 ? t(locale, 'policy.show.termsNone') : t(locale, 'policy.show.terms', { n: p.blockedTerms.length, terms: termList }),
  ].join('\n');
}

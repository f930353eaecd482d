// The blocked-terms check on the main thread: a server with the most terms it may have (200) and a 6,000-character
// prompt, through the same code the bot runs (GuildRules over a policy store). `firstCheckMs` includes compiling the
// list (once per change of the policy; Unicode's confusables table is loaded when GuildRules is built, as at the
// bot's start); `checkMs` is a check after that, the cost of every command in that server (median of 200).
import { GuildRules } from '../../src/guild-settings/rules.js';
import { defaultPolicy, type Place } from '../../src/guild-settings/model.js';
import { MAX_TERMS } from '../../src/guild-settings/terms.js';

export interface TermsFigures {
  terms: number;
  promptChars: number;
  firstCheckMs: number;
  checkMs: number;
}

export async function termsFigures(): Promise<TermsFigures> {
  const words = ['misty', 'harbour', 'lantern', 'ᴅʀᴀɢᴏɴ', 'over', 'a', 'quiet', 'lake', 'at', 'dusk', 'with', 'drаgonfly', 'wings'];
  const terms = Array.from({ length: MAX_TERMS }, (_, i) => (i % 10 === 0 ? `real person ${i}` : `blocked${i}term`));
  let prompt = '';
  for (let i = 0; prompt.length < 6000; i++) prompt += `${words[i % words.length]} `;
  prompt = prompt.slice(0, 6000);
  const policy = { ...defaultPolicy(), blockedTerms: terms };
  const rules = new GuildRules({ get: async () => policy });
  const place: Place = { channelId: '1', parentId: null, isThread: false, ageRestricted: false };
  const time = async (): Promise<number> => {
    const t0 = performance.now();
    await rules.check('1', place, prompt, 'en-US');
    return performance.now() - t0;
  };
  const firstCheckMs = await time();
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) samples.push(await time());
  samples.sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return { terms: terms.length, promptChars: prompt.length, firstCheckMs: round(firstCheckMs), checkMs: round(samples[100] ?? 0) };
}

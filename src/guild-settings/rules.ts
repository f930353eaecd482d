import { UserFacingError } from '../errors.js';
import { refusalFor, type Place } from './model.js';
import { refusalText } from './render.js';
import type { GuildPolicyStore } from './store.js';
import { loadConfusables } from './confusables.js';
import { TermMatchers } from './terms.js';

/**
 * The server's rules for where the bot may be used and which words it refuses. Checked before quota is reserved
 * and before anything goes to Luma, so a refusal costs nothing; the text is in the member's language. Applies
 * wherever a server is involved, whoever installed the bot: a member's own install does not bypass the server's
 * rules in its channels.
 */
export class GuildRules {
  /** `matchers`: each term list compiled once, when it is first seen (after a change of the policy), not per check. */
  constructor(
    private readonly policies: Pick<GuildPolicyStore, 'get'>,
    private readonly matchers = new TermMatchers(),
  ) {
    loadConfusables();
  }

  /** Throws a UserFacingError when the server's rules refuse `prompt` at `place`. */
  async check(guildId: string | null, place: Place, prompt: string, locale: string | undefined): Promise<void> {
    if (guildId === null) return;
    const policy = await this.policies.get(guildId);
    const refusal = refusalFor(policy, place, prompt, this.matchers.for(policy.blockedTerms));
    if (refusal) throw new UserFacingError(refusalText(locale, refusal), { code: `policy_${refusal.kind}` });
  }
}

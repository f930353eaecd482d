// Blocked terms that hold: invisible characters, homoglyphs from other scripts and small capitals do not hide a
// term, a term inside a longer word still does not match, and a server's list is compiled once, not per check.
import { describe, expect, it } from 'vitest';
import { foldText } from '../../src/guild-settings/confusables.js';
import { GuildRules } from '../../src/guild-settings/rules.js';
import { defaultPolicy, type GuildPolicy, type Place } from '../../src/guild-settings/model.js';
import { findBlockedTerm, parseTerms, TermMatcher, TermMatchers } from '../../src/guild-settings/terms.js';

const place: Place = { channelId: '1300000000000000001', parentId: null, isThread: false, ageRestricted: false };

describe('blocked terms against disguises', () => {
  it('see through default-ignorable code points: zero-width space and joiners, word joiner, soft hyphen, tags', () => {
    const terms = ['dragon', 'real person'];
    for (const hidden of ['\u200B', '\u200C', '\u200D', '\u2060', '\u00AD', '\uFEFF', '\u{E0061}', '\u034F', '\uFE0F']) {
      expect(findBlockedTerm(`a dra${hidden}gon at dusk`, terms), JSON.stringify(hidden)).toBe('dragon');
    }
    expect(findBlockedTerm('a real\u200B \u2060person', terms)).toBe('real person');
  });

  it('match Cyrillic and Greek look-alikes, capitals included, and digits that imitate letters', () => {
    expect(findBlockedTerm('a drаgon', ['dragon'])).toBe('dragon'); // Cyrillic а
    expect(findBlockedTerm('a DRΑGΟΝ', ['dragon'])).toBe('dragon'); // Greek Α, Ο, Ν
    expect(findBlockedTerm('РЕТ photo', ['pet'])).toBe('pet'); // Cyrillic Р, Е, Т
    expect(findBlockedTerm('a ѕресіаl offer', ['special'])).toBe('special'); // Cyrillic ѕ, р, е, с, і
    expect(findBlockedTerm('b00k', ['book'])).toBe('book');
  });

  it('match small capitals and mathematical or full-width letters', () => {
    expect(findBlockedTerm('ᴅʀᴀɢᴏɴ', ['dragon'])).toBe('dragon');
    expect(findBlockedTerm('ʀᴇᴀʟ ᴘᴇʀꜱᴏɴ', ['real person'])).toBe('real person');
    expect(findBlockedTerm('𝐝𝐫𝐚𝐠𝐨𝐧', ['dragon'])).toBe('dragon');
    expect(findBlockedTerm('ｄｒａｇｏｎ', ['dragon'])).toBe('dragon');
  });

  it('still match whole words only: a disguised term inside a longer word is not the term', () => {
    expect(findBlockedTerm('snapdrаgon', ['dragon'])).toBeUndefined();
    expect(findBlockedTerm('a drаgonfly', ['dragon'])).toBeUndefined();
    expect(findBlockedTerm('a cl\u200Bass act', ['ass'])).toBeUndefined();
    expect(findBlockedTerm('glass', ['ass'])).toBeUndefined();
  });

  it('match phrases and terms with signs as whole words, and terms in scripts without spaces anywhere', () => {
    expect(findBlockedTerm('learn c++ today', ['c++'])).toBe('c++');
    expect(findBlockedTerm('learn abc++ today', ['c++'])).toBeUndefined();
    expect(findBlockedTerm('a real  person, smiling', ['real person'])).toBe('real person');
    expect(findBlockedTerm('surreal personality', ['real person'])).toBeUndefined();
    expect(findBlockedTerm('surreal person and a real person', ['real person'])).toBe('real person');
    expect(findBlockedTerm('写真：実在の人物です', ['実在の人物'])).toBe('実在の人物');
    expect(findBlockedTerm('𝐫𝐞𝐚𝐥 person', ['real person'])).toBe('real person');
  });

  it('treat a term written with look-alikes as the plain term', () => {
    expect(findBlockedTerm('a dragon', ['drаgon'])).toBe('drаgon');
    expect(parseTerms('dragon, drаgon, dra\u200Bgon')).toEqual({ terms: ['dragon'] });
  });

  it('fold to a fixed point: the canonical form of a canonical form is itself', () => {
    for (const text of ['ΜΟΜ', 'mom', 'ᴅʀᴀɢᴏɴ', 'Die Straße', 'К1LL', '実在の人物', 'ΝΟ no', 'ǅemal']) {
      expect(foldText(foldText(text))).toBe(foldText(text));
    }
    expect(foldText('ΝΟ')).toBe(foldText('no'));
    expect(foldText('KILL')).toBe(foldText('kill'));
  });

  it('name the first term in the admin’s order, whatever comes first in the prompt', () => {
    const m = new TermMatcher(['gore', 'real person', '実在']);
    expect(m.find('real person with gore')).toBe('gore');
    expect(m.find('実在の real person')).toBe('real person');
    expect(m.find('a quiet lake')).toBeUndefined();
  });
});

describe('compiling the terms', () => {
  it('keeps one matcher per term list and makes a new one when the list changes', () => {
    const matchers = new TermMatchers(2);
    const a = matchers.for(['gore']);
    expect(matchers.for(['gore'])).toBe(a);
    const b = matchers.for(['gore', 'blood']);
    expect(b).not.toBe(a);
    expect(b.find('blood moon')).toBe('blood');
    matchers.for(['x']);
    matchers.for(['y']); // over capacity: the least recently used (['gore']) goes
    expect(matchers.for(['gore'])).not.toBe(a);
  });

  it('compiles a server’s list once across checks, and again after the policy changed', async () => {
    let policy: GuildPolicy = { ...defaultPolicy(), blockedTerms: ['gore'] };
    const matchers = new TermMatchers();
    const rules = new GuildRules({ get: async () => policy }, matchers);
    for (let i = 0; i < 5; i++) await rules.check('1', place, 'a quiet lake', 'en-US');
    await expect(rules.check('1', place, 'gоre', 'en-US')).rejects.toMatchObject({ options: { code: 'policy_term' } });
    expect(matchers.builds).toBe(1);
    policy = { ...policy, blockedTerms: ['gore', 'blood'] };
    await expect(rules.check('1', place, 'blооd moon', 'en-US')).rejects.toMatchObject({ options: { code: 'policy_term' } });
    await rules.check('1', place, 'a quiet lake', 'en-US');
    expect(matchers.builds).toBe(2);
  });
});

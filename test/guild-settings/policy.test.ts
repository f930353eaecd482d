// A server's policy: blocked terms, and where the bot may be used.
import { describe, expect, it } from 'vitest';
import { defaultPolicy, normalizePolicy, refusalFor, type GuildPolicy, type Place } from '../../src/guild-settings/model.js';
import { findBlockedTerm, MAX_TERM_LENGTH, parseTerms } from '../../src/guild-settings/terms.js';

const CHANNEL_A = '1300000000000000001';
const CHANNEL_B = '1300000000000000002';
const THREAD = '1300000000000000009';

const inChannel = (channelId: string, ageRestricted = false): Place => ({ channelId, parentId: null, isThread: false, ageRestricted });
const inThread = (parentId: string, ageRestricted = false): Place => ({ channelId: THREAD, parentId, isThread: true, ageRestricted });
const policy = (p: Partial<GuildPolicy>): GuildPolicy => ({ ...defaultPolicy(), ...p });

describe('blocked terms', () => {
  it('match case- and accent-insensitively, as whole words only', () => {
    const terms = ['Dragon', 'crème brûlée'];
    expect(findBlockedTerm('a DRAGON at dusk', terms)).toBe('Dragon');
    expect(findBlockedTerm('a drágon', terms)).toBe('Dragon');
    expect(findBlockedTerm('Creme   Brulee for dessert', terms)).toBe('crème brûlée');
    expect(findBlockedTerm('a dragonfly over water', terms)).toBeUndefined();
    expect(findBlockedTerm('snapdragon', terms)).toBeUndefined();
    expect(findBlockedTerm('crème', terms)).toBeUndefined();
    expect(findBlockedTerm('dragon!', terms)).toBe('Dragon');
  });

  it('match full-width forms and ß, and terms in scripts without spaces anywhere in the text', () => {
    expect(findBlockedTerm('ＤＲＡＧＯＮ', ['dragon'])).toBe('dragon');
    expect(findBlockedTerm('Die Straße', ['strasse'])).toBe('strasse');
    expect(findBlockedTerm('夕暮れの実在の人物の写真', ['実在の人物'])).toBe('実在の人物');
  });

  it('parses a comma-separated list, dropping duplicates, and refuses over-long or empty terms', () => {
    expect(parseTerms('gore, Real  Person ,GORE,,')).toEqual({ terms: ['gore', 'Real Person'] });
    expect(parseTerms('グロ、実在の人物')).toEqual({ terms: ['グロ', '実在の人物'] });
    expect(parseTerms('x'.repeat(MAX_TERM_LENGTH + 1))).toMatchObject({ problem: { kind: 'tooLong' } });
    expect(parseTerms('!!!')).toEqual({ problem: { kind: 'empty' } });
  });
});

describe('where the bot may be used', () => {
  it('works everywhere with an empty allow list, and only in listed channels otherwise', () => {
    expect(refusalFor(defaultPolicy(), inChannel(CHANNEL_B), 'a cat')).toBeUndefined();
    const p = policy({ channels: [CHANNEL_A] });
    expect(refusalFor(p, inChannel(CHANNEL_A), 'a cat')).toBeUndefined();
    expect(refusalFor(p, inChannel(CHANNEL_B), 'a cat')).toEqual({ kind: 'channel', allowed: [CHANNEL_A] });
  });

  it('lets threads follow their channel, unless the server turned that off', () => {
    const p = policy({ channels: [CHANNEL_A] });
    expect(refusalFor(p, inThread(CHANNEL_A), 'a cat')).toBeUndefined();
    expect(refusalFor(p, inThread(CHANNEL_B), 'a cat')).toMatchObject({ kind: 'channel' });
    expect(refusalFor({ ...p, threadsInherit: false }, inThread(CHANNEL_A), 'a cat')).toMatchObject({ kind: 'thread' });
    expect(refusalFor(policy({ threadsInherit: false }), inThread(CHANNEL_A), 'a cat')).toMatchObject({ kind: 'thread' });
  });

  it('requires an age-restricted channel (a thread counts by its parent) when the server asks for it', () => {
    const p = policy({ requireAgeRestricted: true });
    expect(refusalFor(p, inChannel(CHANNEL_A), 'a cat')).toMatchObject({ kind: 'age' });
    expect(refusalFor(p, inChannel(CHANNEL_A, true), 'a cat')).toBeUndefined();
    expect(refusalFor(p, inThread(CHANNEL_A, true), 'a cat')).toBeUndefined();
  });

  it('refuses a blocked term in an allowed place', () => {
    expect(refusalFor(policy({ blockedTerms: ['gore'] }), inChannel(CHANNEL_A), 'Gore everywhere')).toEqual({ kind: 'term', term: 'gore' });
  });

  it('keeps only well-formed entries of a stored policy', () => {
    const p = normalizePolicy({ channels: [CHANNEL_A, 'nope', 5, CHANNEL_A], threadsInherit: 'yes', blockedTerms: ['ok', '', 3, 'x'.repeat(500)] });
    expect(p).toEqual({ v: 1, channels: [CHANNEL_A], threadsInherit: true, requireAgeRestricted: false, blockedTerms: ['ok'] });
  });
});

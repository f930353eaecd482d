// Rendering for Discord: text the bot shortens never ends in half an emoji.
import { describe, expect, it } from 'vitest';
import { answerMessage } from '../../src/discord/answer.js';
import { progressText, quotePrompt, truncate } from '../../src/discord/render.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { progressState } from '../../src/jobs/progress.js';
import { makeJob } from '../quota/fixtures.js';

/** A lone surrogate: half of a character outside the Basic Multilingual Plane. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('truncate', () => {
  it('never splits a surrogate pair, wherever the limit falls', () => {
    const text = `ab ${'😀'.repeat(40)}`;
    for (let max = 2; max < text.length; max++) {
      const out = truncate(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toMatch(LONE_SURROGATE);
      expect(out.endsWith('…')).toBe(true);
    }
  });

  it('keeps emoji joined by ZWJ or skin-tone modifiers whole', () => {
    const family = '👨‍👩‍👧‍👦';
    const thumb = '👍🏽';
    for (const emoji of [family, thumb]) {
      const text = `x${emoji.repeat(10)}`;
      for (let max = 2; max < text.length; max++) {
        const body = truncate(text, max).slice(0, -1);
        expect(body.slice(1).split(emoji).every((part) => part === '')).toBe(true);
      }
    }
  });

  it('leaves text within the limit alone', () => {
    expect(truncate('a cat 🐈', 8)).toBe('a cat 🐈');
  });

  it('gives whole characters in the answer’s text, its alt text and the quoted prompt when a long prompt of emoji is cut', () => {
    const prompt = `${'x'.repeat(1020)}${'🌊'.repeat(300)}`;
    const job = { ...makeJob({ userId: '1', guildId: null }), id: 'job1', generationId: 'gen1' };
    job.display.prompt = prompt;
    const message = answerMessage({ job, slots: [{ kind: 'shown', job, filename: 'a.png' }] }, []);
    const strings: { key: string; value: string }[] = [];
    const walk = (v: unknown, key = ''): void => {
      if (typeof v === 'string') strings.push({ key, value: v });
      else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, k);
    };
    walk(message.components);
    const texts = strings.filter((s) => s.key === 'content' || s.key === 'description').map((s) => s.value);
    expect(texts.length).toBeGreaterThan(1);
    for (const text of texts) expect(text).not.toMatch(LONE_SURROGATE);
    const alt = strings.find((s) => s.key === 'description')?.value ?? '';
    expect(alt.length).toBeLessThanOrEqual(1024);
    expect(alt.endsWith('…')).toBe(true);
    expect(quotePrompt(`${'y'.repeat(198)}${'🌊'.repeat(5)}`, 200)).not.toMatch(LONE_SURROGATE);
  });
});

describe('the progress line', () => {
  const job = (o: Partial<JobRecord>): JobRecord => ({ ...makeJob({ userId: '400000000000000001', guildId: '1200000000000000001' }), ...o });
  /** The line the member's reply shows for a job's record at `now` (the engine's state, rendered). */
  const line = (j: JobRecord, info: { now: number; queuePosition?: number; estimateMs?: number }): string => {
    const { queuePosition, ...rest } = info;
    const state = progressState(j, { ...rest, ...(queuePosition !== undefined ? { position: queuePosition } : {}) });
    if (!state) throw new Error(`no progress state for step ${j.step}`);
    return progressText(j, state, info.now);
  };

  it('says Luma is busy while a job waits out a Luma 429, then where it is in line', () => {
    const waiting = job({ step: 'queued', notBefore: 5_000 });
    expect(line(waiting, { now: 1_000 })).toContain('Luma is busy right now (too many requests). Your request keeps its place');
    expect(line(waiting, { now: 1_000, queuePosition: 1 })).toContain('Luma is busy right now (too many requests) — position 1.');
    expect(line(waiting, { now: 5_000, queuePosition: 2 })).toContain('Waiting in line — position 2');
  });

  it('gives the usual time while a job is near it, and drops it once the job is well past it', () => {
    const generating = job({ step: 'polling', lastLumaState: 'processing', processingAt: 0 });
    expect(line(generating, { now: 4_000, estimateMs: 5_000 })).toContain('Generating… 0:0');
    expect(line(generating, { now: 4_000, estimateMs: 5_000 })).toContain('usually about 5 s');
    expect(line(generating, { now: 7_000, estimateMs: 5_000 })).toContain('usually about 5 s');
    expect(line(generating, { now: 40_000, estimateMs: 5_000 })).not.toContain('usually');
    expect(line(generating, { now: 40_000, estimateMs: 30_000 })).toContain('usually about 30 s');
  });
});

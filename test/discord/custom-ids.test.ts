// The custom_ids on results and edit forms: written and read back by one module, and a forged one is not read as
// a target.
import { describe, expect, it } from 'vitest';
import { CustomIds, jobIdOfButton, Prefixes, readEditImageTarget, splitCustomId } from '../../src/discord/custom-ids.js';

const CHANNEL = '1300000000000000011';
const MESSAGE = '1400000000000000022';

describe('custom_ids', () => {
  it('route every button and form to its handler prefix, with the job id as argument', () => {
    for (const [make, prefix] of [
      [CustomIds.reroll, Prefixes.reroll],
      [CustomIds.edit, Prefixes.edit],
      [CustomIds.retry, Prefixes.retry],
      [CustomIds.editModal, Prefixes.editModal],
    ] as const) {
      expect(splitCustomId(make('abc_-9'))).toEqual({ prefix, arg: 'abc_-9' });
    }
  });

  it('give back an "Edit image" target as it was written, with or without a job id', () => {
    const plain = { channelId: CHANNEL, messageId: MESSAGE, count: 3 };
    const result = { channelId: CHANNEL, messageId: MESSAGE, count: 1, jobId: 'Zq3_x-1' };
    for (const target of [plain, result]) {
      const id = CustomIds.editImageModal(target);
      expect(id.length).toBeLessThanOrEqual(100);
      const { prefix, arg } = splitCustomId(id);
      expect(prefix).toBe(Prefixes.editImageModal);
      expect(readEditImageTarget(arg)).toEqual(target);
    }
  });

  it('read no target from a forged "Edit image" argument', () => {
    for (const arg of [
      `${CHANNEL}:${MESSAGE}`,
      `${CHANNEL}:${MESSAGE}:0`,
      `${CHANNEL}:${MESSAGE}:101`,
      `${CHANNEL}:${MESSAGE}:1.5`,
      `../x:${MESSAGE}:1`,
      `${CHANNEL}:123:1`,
      `${CHANNEL}:${MESSAGE}:1:not/a/job`,
      `${CHANNEL}:${MESSAGE}:1:${'x'.repeat(33)}`,
    ]) {
      expect(readEditImageTarget(arg), arg).toBeUndefined();
    }
  });

  it('find the job id in a result’s buttons only', () => {
    expect(jobIdOfButton(CustomIds.edit('j1'))).toBe('j1');
    expect(jobIdOfButton(CustomIds.retry('j2'))).toBe('j2');
    expect(jobIdOfButton(CustomIds.editModal('j3'))).toBeUndefined();
    expect(jobIdOfButton('history:again:j4')).toBeUndefined();
  });
});

// How long the deferral of an image request waits for the member's settings: until 1.8 s after Discord made the
// interaction (its first answer is due at 3 s), whenever the handler started — so a busy bot that reaches the
// handler late still has time to read them, and one that reaches it very late does not miss Discord's deadline.
import { describe, expect, it } from 'vitest';
import { settingsWaitMs } from '../../src/discord/defaults.js';

const MADE = 1_780_000_000_000;

describe('settingsWaitMs', () => {
  it('waits until 1.8 s after the interaction was made', () => {
    expect(settingsWaitMs(MADE, MADE)).toBe(1800);
    expect(settingsWaitMs(MADE, MADE + 300)).toBe(1500);
    expect(settingsWaitMs(MADE, MADE + 1000)).toBe(800);
  });
  it('still waits a little when the handler starts late, and never past 1.8 s when the clocks disagree', () => {
    expect(settingsWaitMs(MADE, MADE + 1700)).toBe(200);
    expect(settingsWaitMs(MADE, MADE + 60_000)).toBe(200);
    expect(settingsWaitMs(MADE, MADE - 60_000)).toBe(1800);
  });
});

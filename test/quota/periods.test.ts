// Quota periods: UTC days, Monday weeks and months (year ends, leap years), and Discord timestamps.
import { describe, expect, it } from 'vitest';
import { discordTime, periodEnd, periodKey, periodStart, utcDay } from '../../src/quota/periods.js';

const at = (iso: string): number => Date.parse(iso);

describe('quota periods', () => {
  it('a day runs from 00:00 UTC to the next 00:00 UTC', () => {
    const t = at('2026-05-06T23:59:59.999Z');
    expect(periodStart('day', t)).toBe(at('2026-05-06T00:00:00Z'));
    expect(periodEnd('day', t)).toBe(at('2026-05-07T00:00:00Z'));
    expect(periodKey('day', t)).toBe('day:2026-05-06');
    expect(periodKey('day', at('2026-05-07T00:00:00Z'))).toBe('day:2026-05-07');
  });

  it('a week starts on Monday 00:00 UTC, including for a Sunday late in the evening', () => {
    // 2026-05-10 is a Sunday; 2026-05-11 a Monday.
    const sunday = at('2026-05-10T23:59:59Z');
    expect(periodStart('week', sunday)).toBe(at('2026-05-04T00:00:00Z'));
    expect(periodEnd('week', sunday)).toBe(at('2026-05-11T00:00:00Z'));
    expect(periodKey('week', sunday)).toBe('week:2026-05-04');
    expect(periodKey('week', at('2026-05-11T00:00:00Z'))).toBe('week:2026-05-11');
    expect(periodKey('week', at('2026-05-04T00:00:00Z'))).toBe('week:2026-05-04');
  });

  it('a week that spans a new year is one week', () => {
    // 2026-12-28 is a Monday; 2027-01-03 the Sunday after.
    expect(periodKey('week', at('2027-01-03T12:00:00Z'))).toBe('week:2026-12-28');
    expect(periodEnd('week', at('2026-12-31T00:00:00Z'))).toBe(at('2027-01-04T00:00:00Z'));
  });

  it('a month starts on the 1st 00:00 UTC, with short months and leap years right', () => {
    expect(periodKey('month', at('2026-02-28T23:59:59Z'))).toBe('month:2026-02');
    expect(periodEnd('month', at('2026-02-15T00:00:00Z'))).toBe(at('2026-03-01T00:00:00Z'));
    expect(periodEnd('month', at('2028-02-29T10:00:00Z'))).toBe(at('2028-03-01T00:00:00Z'));
    expect(periodEnd('month', at('2026-12-31T23:00:00Z'))).toBe(at('2027-01-01T00:00:00Z'));
    expect(periodKey('month', at('2026-03-01T00:00:00Z'))).toBe('month:2026-03');
  });

  it('the UTC day ignores the local time zone', () => {
    expect(utcDay(at('2026-05-06T23:30:00-05:00'))).toBe('2026-05-07');
  });

  it('Discord timestamps are in whole seconds', () => {
    expect(discordTime(at('2026-05-07T00:00:00Z'))).toBe('<t:1778112000:R>');
    expect(discordTime(1_500, 'f')).toBe('<t:1:f>');
  });
});

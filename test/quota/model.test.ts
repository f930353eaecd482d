// Quota allowance rules: which limit applies to a member (default, role, member; unlimited) and limit validation.
import { describe, expect, it } from 'vitest';
import { emptySettings, limitProblem, moreGenerous, resolveAllowance, type GuildQuotaSettings } from '../../src/quota/model.js';

const fallback = { limit: 10, period: 'day' } as const;
const settings = (s: Partial<GuildQuotaSettings>): GuildQuotaSettings => ({ ...emptySettings(), ...s });

describe('quota allowance rules', () => {
  it('gives the operator default to a member of a server that configured nothing', () => {
    expect(resolveAllowance(emptySettings(), 'u', [], fallback)).toEqual({ limit: 10, period: 'day', source: { kind: 'default', configured: false } });
  });

  it("gives the server's default and period when set", () => {
    expect(resolveAllowance(settings({ defaultLimit: 4, period: 'week' }), 'u', [], fallback)).toEqual({
      limit: 4,
      period: 'week',
      source: { kind: 'default', configured: true },
    });
  });

  it('gives a member the most generous of their roles, unlimited above any number', () => {
    const s = settings({ defaultLimit: 4, roles: { a: 2, b: 20, c: 7 } });
    expect(resolveAllowance(s, 'u', ['a', 'c'], fallback).limit).toBe(7);
    expect(resolveAllowance(s, 'u', ['a', 'b', 'c'], fallback)).toMatchObject({ limit: 20, source: { kind: 'role', roleId: 'b' } });
    const withUnlimited = settings({ roles: { a: 2, vip: 'unlimited', b: 50 } });
    expect(resolveAllowance(withUnlimited, 'u', ['a', 'vip', 'b'], fallback)).toMatchObject({ limit: 'unlimited', source: { kind: 'role', roleId: 'vip' } });
  });

  it('lets a role limit restrict below the default, because role limits replace it', () => {
    const s = settings({ defaultLimit: 4, roles: { newcomer: 1 } });
    expect(resolveAllowance(s, 'u', ['newcomer'], fallback).limit).toBe(1);
    expect(resolveAllowance(s, 'u', ['other'], fallback).limit).toBe(4);
  });

  it("lets a member's override beat their roles, whether higher, lower, zero or unlimited", () => {
    const s = settings({ defaultLimit: 4, roles: { vip: 'unlimited' }, users: { capped: 1, banned: 0, free: 'unlimited' } });
    expect(resolveAllowance(s, 'capped', ['vip'], fallback)).toMatchObject({ limit: 1, source: { kind: 'user' } });
    expect(resolveAllowance(s, 'banned', ['vip'], fallback).limit).toBe(0);
    expect(resolveAllowance(s, 'free', [], fallback).limit).toBe('unlimited');
  });

  it('orders limits by generosity', () => {
    expect(moreGenerous('unlimited', 100_000)).toBe(true);
    expect(moreGenerous(5, 'unlimited')).toBe(false);
    expect(moreGenerous('unlimited', 'unlimited')).toBe(false);
    expect(moreGenerous(3, 2)).toBe(true);
  });

  it('accepts whole numbers from 0 to 100000 and explains anything else', () => {
    expect(limitProblem(0)).toBeUndefined();
    expect(limitProblem(100_000)).toBeUndefined();
    expect(limitProblem(100_001)).toMatch(/whole number from 0 to 100,000/);
    expect(limitProblem(-1)).toMatch(/whole number/);
    expect(limitProblem(2.5)).toMatch(/whole number/);
  });
});

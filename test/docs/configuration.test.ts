// The configuration reference (docs/configuration.md) and .env.example against src/config.ts: every key the code
// reads is listed in both, once, and both give the code's default.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readText, tableRows } from './markdown.js';

const secrets = { DISCORD_TOKEN: 'abc.def.ghi', LUMA_AGENTS_API_KEY: 'luma-api-123' };

/** The keys loadConfig reads, seen through an environment that records every lookup. */
function keysTheCodeReads(): string[] {
  const seen = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    { ...secrets },
    {
      get(target, key) {
        if (typeof key === 'string') seen.add(key);
        return typeof key === 'string' ? target[key] : undefined;
      },
    },
  );
  loadConfig(env);
  return [...seen].sort();
}

/** `KEY=value` lines of .env.example, in order. */
function exampleEntries(): [string, string][] {
  return readText('.env.example')
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] ?? '', (m[2] ?? '').trim()]);
}

/** The reference's rows: key → its default cell. */
function referenceRows(): [string, string][] {
  return tableRows(readText('docs/configuration.md')).map((cells) => [(cells[0] ?? '').replace(/`/g, ''), cells[1] ?? '']);
}

describe('the configuration reference', () => {
  it('.env.example lists every key the code reads, once, and no other', () => {
    const keys = exampleEntries().map(([key]) => key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keysTheCodeReads());
  });

  it(".env.example's values are the code's defaults", () => {
    const example = Object.fromEntries(exampleEntries());
    expect(loadConfig({ ...example, ...secrets })).toEqual(loadConfig(secrets));
  });

  it('docs/configuration.md has one row for every key the code reads, and no other', () => {
    const keys = referenceRows().map(([key]) => key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keysTheCodeReads());
  });

  it("docs/configuration.md's default is .env.example's value, or a dash where that is empty", () => {
    const example = new Map(exampleEntries());
    for (const [key, cell] of referenceRows()) {
      const value = example.get(key);
      if (value === undefined) continue; // the test above reports the missing key
      if (value === '') {
        expect(cell, key).toMatch(/^—/);
        continue;
      }
      for (const part of value.split(',')) expect(cell, key).toMatch(new RegExp(`^\`${part}\`|, \`${part}\``));
    }
  });
});

// The usage chart is SVG rasterized by sharp: a member's name with a code point XML does not allow (U+0001, a lone
// surrogate, U+FFFF) must not make the whole chart unreadable, and a long name is cut between whole characters.
import { describe, expect, it } from 'vitest';
import { CHART_HEIGHT, CHART_WIDTH, renderUsageChart, usageChartSvg } from '../../src/quota/chart.js';
import { loadSharp } from '../../src/images/sharp.js';

const input = (names: string[]) => ({
  title: 'Usage \u0002of\u0007 May',
  topTitle: 'Top members',
  days: ['2026-05-01', '2026-05-02'],
  perDay: [{ 'uni-1': 3 }, { 'uni-1': 1, 'uni-1-max': 2 }],
  top: names.map((name, i) => ({ name, units: 10 - i })),
  language: 'en-US',
});

describe('the usage chart', () => {
  it('draws members whose names hold XML-illegal code points, leaving those out', async () => {
    const names = ['bad\u0001name', 'lone\uD83Dsurrogate', 'end\uFFFF', 'tab\tok <&>'];
    const svg = usageChartSvg(input(names));
    const illegal = [...svg].filter((c) => { const n = c.codePointAt(0) ?? 0; return (n < 0x20 && ![9, 10, 13].includes(n)) || n === 0xfffe || n === 0xffff; });
    expect(illegal).toEqual([]);
    expect(/\p{Cs}/u.test(svg)).toBe(false);
    expect(svg).toContain('badname');
    expect(svg).toContain('tab\tok &lt;&amp;&gt;');
    const png = await renderUsageChart(input(names));
    const meta = await (await loadSharp())(png).metadata();
    expect([meta.width, meta.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
  });

  it('cuts a long name between whole characters', () => {
    const svg = usageChartSvg(input([`${'a'.repeat(26)}👩‍👩‍👧👩‍👩‍👧`]));
    expect(svg).toContain(`${'a'.repeat(26)}…`);
    expect(/\p{Cs}/u.test(svg)).toBe(false);
  });
});

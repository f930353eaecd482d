// Quota pricing: dollars per model, edit and reference; units per model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { e4ToUsd, formatUsd, PRICE_E4, priceE4, priceOfInputsE4, unitsFor } from '../../src/quota/pricing.js';

const refs = (n: number) => Array.from({ length: n }, () => ({ generation_id: 'g' }));

describe('quota pricing', () => {
  it('prices text to image at the base price of each model', () => {
    expect(priceE4({ model: 'uni-1', type: 'image' })).toBe(404);
    expect(priceE4({ model: 'uni-1-max', type: 'image' })).toBe(1000);
    expect(priceE4({})).toBe(404);
  });

  it('prices one reference like an edit, and adds 0.0030 per further reference', () => {
    expect(priceE4({ model: 'uni-1', image_ref: refs(1) })).toBe(434);
    expect(priceE4({ model: 'uni-1-max', image_ref: refs(1) })).toBe(1030);
    expect(priceE4({ model: 'uni-1', image_ref: refs(9) })).toBe(674);
    expect(priceE4({ model: 'uni-1-max', image_ref: refs(9) })).toBe(1270);
    expect(priceE4({ model: 'uni-1', type: 'image_edit', source: { generation_id: 'g' } })).toBe(434);
  });

  it('prices an edit with N references as N+1 references', () => {
    expect(priceE4({ model: 'uni-1', type: 'image_edit', source: { generation_id: 'g' }, image_ref: refs(2) })).toBe(434 + 2 * 30);
    expect(priceE4({ model: 'uni-1-max', type: 'image_edit', source: { generation_id: 'g' }, image_ref: refs(8) })).toBe(1030 + 8 * 30);
  });

  it('counts uni-1-max at the configured weight and uni-1 as one unit', () => {
    expect(unitsFor('uni-1', 3)).toBe(1);
    expect(unitsFor(undefined, 3)).toBe(1);
    expect(unitsFor('uni-1-max', 3)).toBe(3);
    expect(unitsFor('uni-1-max', 2)).toBe(2);
  });

  it('formats dollars with at least two decimals and no trailing noise', () => {
    expect(formatUsd(0.0404)).toBe('$0.0404');
    expect(formatUsd(25)).toBe('$25.00');
    expect(formatUsd(0.127)).toBe('$0.127');
    expect(formatUsd(7.5)).toBe('$7.50');
  });
});

describe("the README's table of what each request costs the operator", () => {
  /** The rows of the table under "What each request costs you": [request, uni-1, uni-1-max]. */
  const rows = (): string[][] => {
    const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = text.split('## What each request costs you')[1]?.split('\n## ')[0] ?? '';
    return section
      .split('\n')
      .filter((l) => l.startsWith('|') && !l.startsWith('|---') && !l.startsWith('| request'))
      .map((l) => l.replace(/^\|\s*|\s*\|\s*$/g, '').split(/\s+\|\s+/));
  };

  it('gives the prices of src/quota/pricing.ts: no input, one, the surcharge, the most references, the largest edit', () => {
    const table = rows();
    expect(table).toHaveLength(5);
    const inputs = [0, 1, undefined, 9, 8];
    table.forEach((cells, i) => {
      for (const [column, model] of [[1, 'uni-1'], [2, 'uni-1-max']] as const) {
        const n = inputs[i];
        const expected = n === undefined ? `+${formatUsd(e4ToUsd(PRICE_E4[model].perFurtherReference))}` : formatUsd(e4ToUsd(priceOfInputsE4(model, n)));
        expect(cells[column], `row ${i + 1}, ${model}`).toBe(expected);
      }
    });
    // The largest edit row is what the code charges for an edit with 7 references.
    expect(priceE4({ model: 'uni-1', type: 'image_edit', source: { generation_id: 'g' }, image_ref: refs(7) })).toBe(priceOfInputsE4('uni-1', 8));
  });
});

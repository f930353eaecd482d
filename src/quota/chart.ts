import { loadSharp } from '../images/sharp.js';
import { MODELS, type Model } from '../luma/types.js';
import { truncate, xmlSafe } from '../text.js';

/*
 * The usage chart of /quota-admin usage, drawn as SVG and rasterized by sharp (librsvg, with the system's fonts
 * through fontconfig): no browser, no chart library. Left, units per UTC day stacked by model; right, the members
 * who used the most units in the period.
 */

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 675;

export interface ChartInput {
  title: string;
  topTitle: string;
  /** `YYYY-MM-DD`, oldest first. */
  days: readonly string[];
  /** Units per day and model, same order as `days`. */
  perDay: ReadonlyArray<Partial<Record<Model, number>>>;
  /** Largest first; at most 10 are drawn. */
  top: ReadonlyArray<{ name: string; units: number }>;
  /** BCP 47 language for number formatting. */
  language: string;
}

const COLORS: Record<Model, string> = { 'uni-1': '#5865F2', 'uni-1-max': '#F0A020' };
const FONT = "DejaVu Sans, Liberation Sans, IPAGothic, Noto Sans CJK JP, Noto Sans, sans-serif";

/** Text for the SVG: without code points XML does not allow (a member's name may hold U+0001), and escaped. */
function esc(s: string): string {
  return xmlSafe(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round step for the y axis so that about five grid lines cover `max`. */
function niceStep(max: number): number {
  const raw = Math.max(1, max) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return Math.max(1, step);
}

export function usageChartSvg(input: ChartInput): string {
  const nf = new Intl.NumberFormat(input.language);
  const parts: string[] = [];
  const W = CHART_WIDTH;
  const H = CHART_HEIGHT;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#FFFFFF"/>`);
  parts.push(`<text x="32" y="44" font-size="24" font-weight="bold" fill="#111">${esc(input.title)}</text>`);

  // Legend.
  let lx = 32;
  for (const m of MODELS) {
    parts.push(`<rect x="${lx}" y="62" width="14" height="14" fill="${COLORS[m]}"/><text x="${lx + 20}" y="75" font-size="15" fill="#333">${m}</text>`);
    lx += 120;
  }

  // Stacked bars.
  const plot = { x: 80, y: 100, w: 700, h: 500 };
  const totals = input.perDay.map((d) => MODELS.reduce((a, m) => a + (d[m] ?? 0), 0));
  const step = niceStep(Math.max(0, ...totals));
  const top = Math.max(step, Math.ceil(Math.max(0, ...totals) / step) * step);
  for (let v = 0; v <= top; v += step) {
    const y = plot.y + plot.h - (v / top) * plot.h;
    parts.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.w}" y2="${y}" stroke="#E3E5E8" stroke-width="1"/>`);
    parts.push(`<text x="${plot.x - 8}" y="${y + 5}" font-size="13" text-anchor="end" fill="#555">${nf.format(v)}</text>`);
  }
  const n = Math.max(1, input.days.length);
  const slot = plot.w / n;
  const barW = Math.max(2, slot * 0.7);
  const labelEvery = Math.ceil(n / 10);
  input.days.forEach((day, i) => {
    const x = plot.x + i * slot + (slot - barW) / 2;
    let base = plot.y + plot.h;
    for (const m of MODELS) {
      const v = input.perDay[i]?.[m] ?? 0;
      if (v <= 0) continue;
      const h = (v / top) * plot.h;
      base -= h;
      parts.push(`<rect x="${x.toFixed(1)}" y="${base.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[m]}"/>`);
    }
    if (i % labelEvery === 0 || i === n - 1) {
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${plot.y + plot.h + 20}" font-size="12" text-anchor="middle" fill="#555">${day.slice(5)}</text>`);
    }
  });
  parts.push(`<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="#888" stroke-width="1"/>`);

  // Top members.
  const side = { x: 830, y: 100, w: 340 };
  parts.push(`<text x="${side.x}" y="${side.y - 8}" font-size="17" font-weight="bold" fill="#111">${esc(input.topTitle)}</text>`);
  const shown = input.top.slice(0, 10);
  const maxUnits = Math.max(1, ...shown.map((m) => m.units));
  shown.forEach((m, i) => {
    const y = side.y + 14 + i * 48;
    const name = truncate(xmlSafe(m.name), 28);
    parts.push(`<text x="${side.x}" y="${y + 12}" font-size="14" fill="#222">${esc(name)}</text>`);
    const w = Math.max(2, (m.units / maxUnits) * (side.w - 70));
    parts.push(`<rect x="${side.x}" y="${y + 20}" width="${w.toFixed(1)}" height="16" fill="#57F287"/>`);
    parts.push(`<text x="${side.x + w + 8}" y="${y + 33}" font-size="13" fill="#333">${nf.format(m.units)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The chart as a PNG of CHART_WIDTH × CHART_HEIGHT pixels. */
export async function renderUsageChart(input: ChartInput): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(usageChartSvg(input))).png().toBuffer();
}

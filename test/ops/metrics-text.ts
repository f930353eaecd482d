// Reads Prometheus text exposition in tests: one sample by name and labels (label order does not matter).

/** Samples of `name` whose labels include every pair of `labels`, as [labels, value]. */
export function samples(text: string, name: string, labels: Record<string, string> = {}): Array<[Record<string, string>, number]> {
  const out: Array<[Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1] ?? ''] = pair[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) out.push([found, Number(m[3])]);
  }
  return out;
}

/** The sum of every matching sample (0 when there is none). */
export function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return samples(text, name, labels).reduce((sum, [, v]) => sum + v, 0);
}

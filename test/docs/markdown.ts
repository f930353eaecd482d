// Small readers of the project's Markdown for the docs tests: files, table rows, headings' anchors, links.
import { readdirSync, readFileSync } from 'node:fs';

export const ROOT = new URL('../../', import.meta.url);

export function readText(path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8');
}

/** README.md and every Markdown file under docs/, as paths from the repository's root. */
export function markdownFiles(): string[] {
  const docs = readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** The text with fenced code blocks blanked out (their lines kept, so line numbers still match). */
export function withoutCodeBlocks(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

/** The cells of every table row whose first cell is code (`| \`KEY\` | … |`), header and separator rows left out. */
export function tableRows(text: string): string[][] {
  return withoutCodeBlocks(text)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.replace(/^\|\s*|\s*\|\s*$/g, '').split(/\s+\|\s+/));
}

/**
 * GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, `-`, `_` and spaces kept), spaces
 * as `-`; a repeated heading gets `-1`, `-2`…
 */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of withoutCodeBlocks(text).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m?.[1]) continue;
    const plain = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

export interface Link {
  readonly line: number;
  readonly target: string;
}

/** Every inline link and image target (`[text](target)`, `![alt](target)`) outside code, with its line. */
export function links(text: string): Link[] {
  const out: Link[] = [];
  withoutCodeBlocks(text)
    .split('\n')
    .forEach((line, i) => {
      const outsideCode = line.replace(/`[^`]*`/g, '');
      for (const m of outsideCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (m[1]) out.push({ line: i + 1, target: m[1] });
      }
    });
  return out;
}

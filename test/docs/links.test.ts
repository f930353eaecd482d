// Every relative link in README.md and docs/*.md leads somewhere: the file exists, and an anchor (`#…`) names a
// heading of the page it points at. Several people edit these pages; a moved heading must not leave dead links.
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchors, links, markdownFiles, readText, ROOT } from './markdown.js';

/** A link's problem, or undefined when it resolves. */
function problemOf(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: — not ours to check
  const [rawPath = '', anchor] = target.split('#', 2);
  const path = rawPath === '' ? from : posix.normalize(posix.join(posix.dirname(from), decodeURIComponent(rawPath)));
  if (path.startsWith('../')) return `${path} is outside the repository`;
  if (!existsSync(new URL(path, ROOT))) return `${path} does not exist`;
  if (anchor === undefined) return undefined;
  if (!path.endsWith('.md')) return `an anchor into ${path}, which is not Markdown`;
  return anchors(readText(path)).has(anchor) ? undefined : `${path} has no heading for #${anchor}`;
}

describe('documentation links', () => {
  it('finds the README and the docs pages, and links in them', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    expect(files.length).toBeGreaterThan(1);
    expect(links(readText('README.md')).length).toBeGreaterThan(0);
  });

  it.each(markdownFiles())('every relative link and anchor in %s resolves', (file) => {
    const broken = links(readText(file))
      .map((l) => ({ ...l, problem: problemOf(file, l.target) }))
      .filter((l) => l.problem !== undefined)
      .map((l) => `${file}:${l.line} (${l.target}): ${l.problem}`);
    expect(broken).toEqual([]);
  });

  it('reads anchors as GitHub writes them', () => {
    const page = "# Title\n## Luma's limits are learned, and used whole\n## One `/imagine`, end to end\n## Notes\n## Notes\n```sh\n# not a heading\n```\n";
    expect([...anchors(page)]).toEqual(['title', 'lumas-limits-are-learned-and-used-whole', 'one-imagine-end-to-end', 'notes', 'notes-1']);
  });

  it('reports a missing file and a missing anchor', () => {
    expect(problemOf('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/);
    expect(problemOf('README.md', '#no-such-heading')).toMatch(/no heading/);
    expect(problemOf('docs/operations.md', '../README.md#quick-start')).toBeUndefined();
  });
});

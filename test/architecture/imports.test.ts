// The import graph of the bot's own code (src/ and commands/), type-only imports and re-exports included, read
// with TypeScript's own pre-processor: no cycle, and the layers point one way.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module a file imports: project files by path (relative to the root), packages by name. */
function importsOf(file: string): { files: string[]; packages: string[] } {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  const files: string[] = [];
  const packages: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) {
      packages.push(fileName);
      continue;
    }
    files.push(relative(ROOT, resolve(ROOT, dirname(file), fileName)).replace(/\.js$/, '.ts'));
  }
  return { files, packages };
}

const FILES = [...sourceFiles('src'), ...sourceFiles('commands')];
const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));

/** Strongly connected components of more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(graph: ReadonlyMap<string, { files: string[] }>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.files ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      on.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1 || graph.get(v)?.files.includes(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** Files of `from` that import a file under one of `to` (or a package in `packages`), as "file -> import". */
function crossings(from: (f: string) => boolean, to: readonly string[], packages: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [file, { files, packages: pkgs }] of GRAPH) {
    if (!from(file)) continue;
    for (const f of files) if (to.some((t) => f.startsWith(t))) out.push(`${file} -> ${f}`);
    for (const p of pkgs) if (packages.includes(p)) out.push(`${file} -> ${p}`);
  }
  return out;
}

const under = (...dirs: string[]) => (f: string) => dirs.some((d) => f.startsWith(d));

describe('the import graph of src/ and commands/', () => {
  it('reads every file it should (the check itself works)', () => {
    expect(GRAPH.size).toBeGreaterThan(100);
    expect(GRAPH.get('src/main.ts')?.files).toContain('src/jobs/engine.ts');
    // A type-only import counts: context.ts imports the engine's type only.
    expect(GRAPH.get('src/context.ts')?.files).toContain('src/jobs/engine.ts');
    expect(cycles(new Map([['a', { files: ['b'] }], ['b', { files: ['c'] }], ['c', { files: ['a'] }], ['d', { files: ['a'] }]]))).toEqual([['a', 'b', 'c']]);
  });

  it('has no cycle, type-only imports included', () => {
    expect(cycles(GRAPH)).toEqual([]);
  });

  it('keeps the core (jobs, quota, luma, guild settings, preferences, storage) free of Discord: no discord.js, nothing of src/discord or commands/', () => {
    expect(crossings(under('src/jobs/', 'src/quota/', 'src/luma/', 'src/guild-settings/', 'src/preferences/', 'src/storage/'), ['src/discord/', 'commands/'], ['discord.js', '@discordjs/rest', 'discord-api-types/v10'])).toEqual([]);
  });

  it('points one way: the core never imports the commands, the composition root or the operator views', () => {
    const core = under('src/jobs/', 'src/quota/', 'src/luma/', 'src/guild-settings/', 'src/preferences/', 'src/storage/', 'src/http/', 'src/images/', 'src/i18n/');
    expect(crossings(core, ['commands/', 'src/main.ts', 'src/index.ts', 'src/context.ts', 'src/ops/'])).toEqual([]);
    expect(crossings(under('src/discord/'), ['commands/', 'src/main.ts', 'src/index.ts'])).toEqual([]);
  });

  it('lets config import no module of the bot but the kinds of values it accepts (it is read first, and everything depends on it)', () => {
    expect(GRAPH.get('src/config.ts')?.files).toEqual(['src/config-values.ts', 'src/config-values.ts']);
    expect(GRAPH.get('src/config-values.ts')?.files).toEqual([]);
  });

  it('has Discord’s API reached over HTTP in one place only: REST clients and connection pools for it are made in src/discord/transport', () => {
    const makers: string[] = [];
    for (const file of GRAPH.keys()) {
      if (file.startsWith('src/discord/transport/')) continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      if (/new REST\(/.test(text) || (file.startsWith('src/discord/') && /new (Agent|Pool)\(/.test(text))) makers.push(file);
    }
    expect(makers).toEqual([]);
    // discord.js's gateway Client (src/discord/client.ts) has its REST go through the transport.
    expect(readFileSync(join(ROOT, 'src/discord/client.ts'), 'utf8')).toMatch(/discordHttp\.rest\('interactions'\)/);
  });
});

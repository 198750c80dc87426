/**
 * lib/ is arranged by concern, the shared kernel at the bottom: a folder imports only from itself
 * and the folders below it, lib/ never imports Lambda, HTTP or the layers above it, and no file
 * takes part in an import cycle.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAYERS = ['core', 'audit', 'identity', 'org', 'access', 'federation', 'reviews'];
const lib = fileURLToPath(new URL('../../lib/', import.meta.url));

const files = readdirSync(lib, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts'))
  .map((e) => join(e.parentPath, e.name));

/** Every import of a file: relative ones resolved to files, packages by name. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
  return {
    local: specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts'))),
    packages: specs.filter((s) => !s.startsWith('.')),
  };
}
const layerOf = (file: string) => relative(lib, file).split('/')[0]!;

describe('lib/ layout', () => {
  it('has every file in a known concern folder, none loose at the top', () => {
    expect(files.length).toBeGreaterThan(30);
    for (const f of files) expect(LAYERS, relative(lib, f)).toContain(layerOf(f));
  });

  it('imports only from the same folder or the folders below it', () => {
    const upward: string[] = [];
    for (const f of files) {
      for (const target of importsOf(f).local) {
        if (!target.startsWith(lib)) upward.push(`${relative(lib, f)} → outside lib/: ${target}`);
        else if (LAYERS.indexOf(layerOf(target)) > LAYERS.indexOf(layerOf(f))) upward.push(`${relative(lib, f)} → ${relative(lib, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('is free of Lambda and HTTP types', () => {
    const offending = files.flatMap((f) => importsOf(f).packages.filter((p) => /^(aws-lambda|@middy\/|node:http)/.test(p)).map((p) => `${relative(lib, f)}: ${p}`));
    expect(offending).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).local]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(lib, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});

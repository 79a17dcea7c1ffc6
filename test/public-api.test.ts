/**
 * The public API: everything `src/index.ts` exports is documented (TSDoc on
 * its declaration), and the package exports every layer's contract, token
 * and built-in policy.
 */
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { fileURLToPath } from 'node:url';
import * as api from '../src/index.js';
import { POLICIES } from '../src/policies/registry.js';

const INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const TESTING = fileURLToPath(new URL('../src/testing/index.ts', import.meta.url));

/** For each entry point, every exported name with whether its declaration carries a `/** … *\/` comment (one program for all). */
function exportDocs(entries: readonly string[]): Map<string, boolean>[] {
  const program = ts.createProgram([...entries], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, noEmit: true });
  const checker = program.getTypeChecker();
  return entries.map((entry) => {
    const file = program.getSourceFile(entry)!;
    const out = new Map<string, boolean>();
    for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const documented = (target.declarations ?? []).some((d) => {
        const host = ts.isVariableDeclaration(d) ? d.parent.parent : d;
        return ts.getJSDocCommentsAndTags(host).length > 0 || /\/\*\*/.test(host.getFullText().slice(0, host.getLeadingTriviaWidth()));
      });
      out.set(sym.name, documented);
    }
    return out;
  });
}

describe('the public API', () => {
  it('documents every export of allocsim and allocsim/testing', () => {
    const [docs, testing] = exportDocs([INDEX, TESTING]) as [Map<string, boolean>, Map<string, boolean>];
    expect(docs.size).toBeGreaterThan(150);
    expect([...docs].filter(([, ok]) => !ok).map(([name]) => name)).toEqual([]);
    expect(testing.size).toBeGreaterThan(10);
    expect([...testing].filter(([, ok]) => !ok).map(([name]) => name)).toEqual([]);
  });

  it('exports every layer token and every built-in policy class', () => {
    for (const t of ['PAGE_ALLOCATOR', 'SLAB_BACKEND', 'KMEM', 'DEV_KMALLOC', 'VMALLOC', 'VMAP_SPACE', 'USER_MALLOC', 'KASAN', 'KMEMLEAK'] as const) expect(typeof api[t]).toBe('symbol');
    const classes = new Set<unknown>(Object.values(api).filter((v) => typeof v === 'function'));
    for (const layer of Object.keys(POLICIES) as (keyof typeof POLICIES)[]) {
      for (const name of Object.keys(POLICIES[layer])) {
        const sys = api.createSystem({ machine: { memBytes: 32 << 20, kernelImageBytes: 1 << 20 }, policies: { [layer]: name } });
        const bound = { page: sys.pages, slab: sys.slab, malloc: sys.spawn().libc, vmap: sys.vmalloc.space }[layer];
        expect(classes.has((bound as object).constructor)).toBe(true);
      }
    }
    for (const cls of [api.SlabCommon, api.DevKmalloc, api.Vmalloc, api.SimulatedMachine]) expect(classes.has(cls)).toBe(true);
  });
});

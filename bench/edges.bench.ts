/**
 * What the front door and the plug-in loader cost, each against its anchor
 * in the same run (median of 5, interleaved):
 *
 * - a 1 TiB `malloc` (ptmalloc mmaps it) with two pages touched, then
 *   `free`, under `vm.overcommit_memory` = 1, against the same with 1 GiB:
 *   a mapping costs the page tables it touches, not its size, so the ratio
 *   stays near 1; and `malloc(1 TiB)` refused by mode 0 on a 1 GiB machine;
 * - `allocsim slabinfo` in a fresh process with `--slab` naming a policy
 *   file, against the built-in `--slab slub`: a file that only re-exports
 *   SlubBackend (so the difference is loading: bundling with esbuild,
 *   importing, checking the contract) and the SLUB-with-sheaves example
 *   (1,150 lines of TypeScript). Needs the CLI built (`npm run build`).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSystem } from '../src/system.js';
import { median } from './debug.bench.js';

const ROUNDS = 5;
const GiB = 2 ** 30;

/** One measured figure and its anchor, in milliseconds. */
export interface EdgeRow {
  readonly name: string;
  readonly ms: number;
  readonly anchor: string;
  readonly anchorMs: number;
}

/** ms to malloc `bytes`, touch its first and middle page, and free it, in a fresh process model; `nulled` when malloc returned NULL (then the ms is malloc's alone). */
function mapTouchUnmap(bytes: number, overcommitMemory: 0 | 1): { ms: number; nulled: boolean } {
  const sys = createSystem({ machine: { memBytes: GiB }, user: { overcommitMemory }, debug: { checks: false, trace: false } });
  const { mm, libc } = sys.spawn();
  const t0 = performance.now();
  const p = libc.malloc(bytes);
  if (p === 0) return { ms: performance.now() - t0, nulled: true };
  mm.write8(p, 1);
  mm.write8(p + bytes / 2, 2);
  libc.free(p);
  return { ms: performance.now() - t0, nulled: false };
}

/** ms of one `allocsim` command in a fresh process. */
function cliMs(cli: string, args: readonly string[], cwd: string): number {
  const t0 = performance.now();
  execFileSync(process.execPath, [cli, ...args], { cwd, stdio: 'ignore' });
  return performance.now() - t0;
}

/** The rows; throws when the CLI is not built. */
export function runEdgesBench(): EdgeRow[] {
  const rows: EdgeRow[] = [];
  const tib: number[] = [];
  const gib: number[] = [];
  const refused: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    tib.push(mapTouchUnmap(2 ** 40, 1).ms);
    gib.push(mapTouchUnmap(GiB, 1).ms);
    const r = mapTouchUnmap(2 ** 40, 0);
    if (!r.nulled) throw new Error('mode 0 granted malloc(1 TiB) on a 1 GiB machine');
    refused.push(r.ms);
  }
  rows.push({ name: 'malloc(1 TiB), 2 pages touched, free (overcommit 1)', ms: median(tib), anchor: 'the same with 1 GiB', anchorMs: median(gib) });
  rows.push({ name: 'malloc(1 TiB) → NULL (overcommit 0, 1 GiB machine)', ms: median(refused), anchor: 'the 1 GiB mapping above', anchorMs: median(gib) });

  // `npm run bench` runs from the repository root.
  const root = process.cwd();
  const cli = join(root, 'dist/src/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'allocsim-bench-'));
  try {
    const reexport = join(dir, 'slub-again.ts');
    writeFileSync(reexport, "export { SlubBackend as default } from 'allocsim';\n");
    const cases: [string, string][] = [
      ['slub', '--slab slub (built-in)'],
      [reexport, '--slab a file re-exporting SlubBackend'],
      ['./examples/slub-sheaves/sheaves.ts', '--slab ./examples/slub-sheaves/sheaves.ts'],
    ];
    const times = cases.map((): number[] => []);
    for (let i = 0; i < ROUNDS; i++) cases.forEach(([slab], k) => times[k]!.push(cliMs(cli, ['slabinfo', '--slab', slab], root)));
    const builtin = median(times[0]!);
    for (let k = 1; k < cases.length; k++) rows.push({ name: `allocsim slabinfo ${cases[k]![1]}`, ms: median(times[k]!), anchor: cases[0]![1], anchorMs: builtin });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

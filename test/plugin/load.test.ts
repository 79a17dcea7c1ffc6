/**
 * Policy files: a class in a file outside the repository, for each of the
 * four layers with named policies, runs through the commands that take a
 * policy; a file that does not implement the contract is refused before any
 * run, naming what is wrong.
 */
import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { captureStdio } from '../support/stdio.js';
import { tempWorkdir } from '../support/workdir.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);

const FILES: Record<string, string> = {
  // TypeScript, subclassing a built-in, no decorators.
  'my-slab.ts': `import { SlubBackend } from 'allocsim';
export default class MySlab extends SlubBackend {
  override readonly policy: string = 'my-slab';
}
`,
  // TypeScript with inversify decorators of its own.
  'my-pages.ts': `import { BuddyAllocator, injectable, inject, optional, MACHINE, CONFIG, KASAN, type Machine, type SystemConfig, type KasanApi } from 'allocsim';
@injectable()
export default class MyPages extends BuddyAllocator {
  override readonly policy: string = 'my-pages';
  constructor(@inject(MACHINE) m: Machine, @inject(CONFIG) c: SystemConfig, @inject(KASAN) @optional() k?: KasanApi) {
    super(m, c, k);
  }
}
`,
  // Plain JavaScript (an ES module), delegating to a built-in.
  'my-malloc.mjs': `import { SegregatedFit } from 'allocsim';
export default class MyMalloc extends SegregatedFit {
  constructor(mem, options) { super(mem, options); this.name = 'my-malloc'; }
}
`,
  // CommonJS from scratch, with a relative helper: a first-fit vmap space.
  'my-vmap.cjs': `const { mergeFree } = require('./vmap-helpers.cjs');
module.exports = class FirstFitVmap {
  constructor() { this.policy = 'ff-vmap'; this.list = []; this.steps = 0; }
  get blocks() { return this.list.length; }
  reset(start, end) { this.list = [[start, end]]; }
  alloc(size, align, vstart, vend) {
    const length = align > 4096 ? size + align - 1 : size;
    for (let i = 0; i < this.list.length; i++) {
      this.steps++;
      const [s, e] = this.list[i];
      if (e - s < length) continue;
      const start = Math.ceil(Math.max(s, vstart) / align) * align;
      if (start + size > e) continue;
      if (start + size > vend) return -1;
      const parts = [];
      if (s < start) parts.push([s, start]);
      if (start + size < e) parts.push([start + size, e]);
      this.list.splice(i, 1, ...parts);
      return start;
    }
    return -1;
  }
  free(start, size) { mergeFree(this.list, start, size); }
  freeBlocks() { return this.list.map((b) => [...b]); }
  check() { return []; }
};
`,
  'vmap-helpers.cjs': `exports.mergeFree = (list, start, size) => {
  list.push([start, start + size]);
  list.sort((a, b) => a[0] - b[0]);
  for (let i = list.length - 1; i > 0; i--) if (list[i - 1][1] === list[i][0]) { list[i - 1][1] = list[i][1]; list.splice(i, 1); }
};
`,
  'bad-slab.js': `export default class Bad { constructor() { this.policy = 42; } alloc() {} }
`,
  'not-a-class.js': `export default { policy: 'x' };
`,
  'broken.ts': `export default class { constructor( }
`,
  'config.json': `{ "policies": { "slab": "./my-slab.ts", "page": "./my-pages.ts" } }
`,
};

tempWorkdir('plugins', (dir) => {
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
});

describe('policy files from outside the repository', () => {
  it('compare runs a slab plug-in beside the built-in (TypeScript, no decorators)', async () => {
    const code = await run('compare', '--slab', 'slub,./my-slab.ts', '--ops', '3000');
    if (code) throw new Error(io.err);
    expect(code).toBe(0);
    expect(io.out).toMatch(/^\s+slub\s+my-slab$/m);
  });

  it('compare runs a page plug-in with decorators of its own', async () => {
    expect(await run('compare', '--layer', 'page', '--page', 'buddy,./my-pages.ts', '--ops', '3000')).toBe(0);
    expect(io.out).toMatch(/^\s+buddy\s+my-pages$/m);
  });

  it('fuzz runs every layer campaign on a plug-in', async () => {
    for (const [layer, opt, file] of [['slab', '--slab', './my-slab.ts'], ['page', '--page', './my-pages.ts'], ['user', '--malloc', './my-malloc.mjs'], ['vmalloc', '--vmap', './my-vmap.cjs']]) {
      io.out = '';
      expect(await run('fuzz', '--layer', layer!, opt!, file!, '--runs', '5', '--max-commands', '60')).toBe(0);
      expect(io.out).toContain(`policy ${file}: 5 runs passed`);
    }
  });

  it('replay takes a slab plug-in for a kernel trace and a malloc plug-in for a user trace', async () => {
    writeFileSync('t.jsonl', ['{"op":"malloc","id":1,"size":40}', '{"op":"malloc","id":2,"size":4000}', '{"op":"free","id":1}', '{"op":"free","id":2}'].join('\n') + '\n');
    expect(await run('replay', 't.jsonl', '--malloc', './my-malloc.mjs')).toBe(0);
    expect(io.out).toContain('my-malloc');
    // A kernel trace through a slab plug-in over a page plug-in.
    writeFileSync('k.txt', ['# tracer: nop', '   a-1 [000] ..... 1.000001: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000001000 bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false', '   a-1 [000] ..... 1.000002: kfree: call_site=x+0x1/0x2 ptr=ffff888000001000'].join('\n') + '\n');
    io.out = '';
    expect(await run('replay', 'k.txt', '--slab', './my-slab.ts', '--page', './my-pages.ts', '--json')).toBe(0);
    expect((JSON.parse(io.out) as { policy: string }).policy).toBe('my-slab');
  });

  it('compare --layer user runs a malloc plug-in beside ptmalloc on a generated trace', async () => {
    expect(await run('compare', '--layer', 'user', '--malloc', 'ptmalloc,./my-malloc.mjs', '--ops', '2000')).toBe(0);
    expect(io.out).toMatch(/^\s+ptmalloc\s+my-malloc$/m);
    expect(io.out).toMatch(/^peak heap bytes\s+[\d,]+\s+[\d,]+$/m);
  });

  it('bench times a plug-in beside the built-in of each layer, as a ratio in the same run', async () => {
    for (const [layer, list] of [['slab', 'slub,./my-slab.ts'], ['page', 'buddy,./my-pages.ts'], ['malloc', 'segregated,./my-malloc.mjs'], ['vmap', 'tree,./my-vmap.cjs']]) {
      io.out = '';
      expect(await run('bench', '--layer', layer!, `--${layer!}`, list!, '--max-time', '0.02', '--json')).toBe(0);
      const doc = JSON.parse(io.out) as { anchor: string; results: { policy: string; hz: number; ratio: number }[] };
      expect(doc.anchor).toBe(list!.split(',')[0]);
      expect(doc.results.filter((r) => r.policy === list!.split(',')[1]).every((r) => r.hz > 0 && r.ratio > 0)).toBe(true);
    }
  });

  it('compare --layer vmalloc runs over a vmap plug-in, and vmallocinfo shows its areas', async () => {
    expect(await run('compare', '--layer', 'vmalloc', '--vmap', './my-vmap.cjs', '--ops', '200')).toBe(0);
    expect(io.out).toMatch(/vmalloc/);
    io.out = '';
    expect(await run('vmallocinfo', '--vmap', './my-vmap.cjs', '--ops', '50')).toBe(0);
    expect(io.out).toMatch(/^0xffffc9/m);
  });

  it('a config file may name policy files', async () => {
    expect(await run('buddyinfo', '--config', 'config.json', '--json')).toBe(0);
    expect(await run('slabinfo', '--config', 'config.json')).toBe(0);
    expect(io.out).toContain('slabinfo - version: 2.1');
  });

  it('refuses a class that does not implement the contract, naming every missing or wrong member, before any run', async () => {
    expect(await run('compare', '--slab', 'slub,./bad-slab.js')).toBe(2);
    expect(io.err).toMatch(/^allocsim: \.\/bad-slab\.js: Bad does not implement SlabBackend: policy: a number, not a string; kmallocMinSize: missing \(a number\);.* ksize: missing \(a method\); checkInvariants: missing \(a method\)$/m);
    expect(io.out).toBe('');
  });

  it.each([
    [['fuzz', '--layer', 'slab', '--slab', './not-a-class.js'], /not-a-class\.js: its default export must be a class implementing SlabBackend, not object/],
    [['fuzz', '--layer', 'slab', '--slab', './broken.ts'], /broken\.ts: cannot load it: .*Expected/],
    [['fuzz', '--layer', 'slab', '--slab', './nope.ts'], /--slab \.\/nope\.ts: no such file/],
    [['fuzz', '--layer', 'slab', '--slab', 'nope'], /--slab: 'nope' is not one of slab, slub, slob, or a policy file such as \.\/my-slab\.ts/],
  ])('bad policy files are bad input: %j', async (args, msg) => {
    expect(await run(...args)).toBe(2);
    expect(io.err).toMatch(msg);
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });
});

/**
 * The random-client-bug fuzz: a seeded client allocates, uses (through the
 * KASAN-checked accessors) and frees kmalloc, kmem_cache and dev_kmalloc
 * memory, and at a seeded rate commits one bug of a known class instead of
 * its next correct step. Every injected bug must be reported with its class,
 * and nothing may be reported when no bug was injected.
 *
 * Classes and what must report them: out-of-bounds read past the request
 * of a slab object or of a large kmalloc (KASAN slab-out-of-bounds, as
 * Linux names both), use-after-free read of a recently freed object (KASAN
 * slab-use-after-free, the quarantine keeps it poisoned) or of a large
 * kmalloc's freed pages (use-after-free), double free and interior free
 * (KASAN double-free / invalid-free), kfree() of a dev_kmalloc pointer
 * (KASAN invalid-free), dev_kfree() of a plain kmalloc pointer (devres
 * invalid-free error), and reads through a NULL-based, user-space or wild
 * pointer (null-ptr-deref, user-memory-access, wild-memory-access).
 *
 * Known limitations: the KASAN model adds no red zone between objects, so an
 * out-of-bounds access is injected only where the request leaves slack in
 * the object (where generic KASAN would also catch it). And the dev layer
 * does not see plain kmalloc reuse a header it freed, so dev_kfree() of a
 * kmalloc pointer whose header slot once held a dev_kmalloc header is
 * diagnosed as a double dev_kfree; that case is not injected.
 */

import { AllocatorError, isAllocatorError } from '../interfaces/errors.js';
import { GFP_KERNEL } from '../interfaces/gfp.js';
import { PAGE_OFFSET, PAGE_SIZE } from '../interfaces/units.js';
import { createSystem, type System } from '../system.js';
import { Rng } from '../machine/rng.js';

/** What a campaign found. */
export interface ClientBugReport {
  readonly ops: number;
  readonly injected: number;
  /** Injected bugs by class. */
  readonly byClass: Readonly<Record<string, number>>;
  /** Injected bugs not reported with their class. */
  readonly missed: number;
  /** Reports (or errors) that appeared without an injected bug, or of the wrong class. */
  readonly falseReports: number;
  /** The first few problems, for the log. */
  readonly problems: readonly string[];
}

interface Obj {
  addr: number;
  size: number;
  kind: 'kmalloc' | 'cache' | 'dev' | 'large';
}

/** Options of a campaign. */
export interface ClientBugOpts {
  readonly seed: number;
  readonly ops: number;
  /** Probability that a step is a bug. @defaultValue 0.05 */
  readonly bugRate?: number;
  /** Slab policy. @defaultValue 'slub' */
  readonly slab?: 'slub' | 'slab';
  /** KASAN quarantine bytes (0 lets freed objects be reused at once, so late use-after-free goes unseen). */
  readonly kasanQuarantine?: number;
}

/** Runs a campaign. Deterministic for a seed. */
export function runClientBugFuzz(opts: ClientBugOpts): ClientBugReport {
  const rate = opts.bugRate ?? 0.05;
  if (!(rate >= 0 && rate <= 1)) throw new AllocatorError('config', `bug rate ${String(rate)} is not a probability in 0..1`);
  if (!Number.isSafeInteger(opts.ops) || opts.ops < 0) throw new AllocatorError('config', `ops ${String(opts.ops)} is not a non-negative integer`);
  const sys: System = createSystem({ machine: { memBytes: 128 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, policies: { slab: opts.slab ?? 'slub' }, debug: { kasan: true, ...(opts.kasanQuarantine !== undefined ? { kasanQuarantine: opts.kasanQuarantine } : {}) } });
  const rng = new Rng(opts.seed);
  const kasan = sys.kasan!;
  const cache = sys.kmem.kmemCacheCreate('client_obj', 200, 0, 0x1000000);
  const dev = sys.dev.registerDevice('fuzzdev');
  const live: Obj[] = [];
  const recentlyFreed: Obj[] = [];
  /** Header addresses dev_kmalloc has used (see the limitation above). */
  const devHeaders = new Set<number>();
  const byClass: Record<string, number> = {};
  const problems: string[] = [];
  let injected = 0;
  let missed = 0;
  let falseReports = 0;

  /** The last large kmalloc freed, and the step: its pages go straight back to the buddy allocator (no quarantine), so only the next step may touch them as a use-after-free. */
  let lastLarge: { o: Obj; step: number } | undefined;
  const freeObj = (o: Obj, step: number): void => {
    if (o.kind === 'dev') sys.dev.devKfree(o.addr);
    else if (o.kind === 'cache') sys.kmem.kmemCacheFree(cache, o.addr);
    else sys.kmem.kfree(o.addr);
    if (o.kind === 'large') {
      lastLarge = { o, step };
      return;
    }
    recentlyFreed.push(o);
    if (recentlyFreed.length > 64) recentlyFreed.shift();
  };
  /** A random live object satisfying `pred` (a circular scan from a random start), or undefined. */
  const pickWhere = (pred: (o: Obj) => boolean): Obj | undefined => {
    const n = live.length;
    const start = rng.int(n);
    for (let k = 0; k < n; k++) {
      const o = live[(start + k) % n]!;
      if (pred(o)) return o;
    }
    return undefined;
  };
  /** Runs a step; returns the classes reported (detector reports and typed errors). */
  const observe = (fn: () => void): string[] => {
    const before = sys.machine.reports.list().length;
    const got: string[] = [];
    try {
      fn();
    } catch (e) {
      if (!isAllocatorError(e)) throw e;
      got.push(`error:${e.kind}`);
    }
    for (const r of sys.machine.reports.list().slice(before)) got.push(r.kind);
    return got;
  };

  for (let i = 0; i < opts.ops; i++) {
    if ((i & 63) === 0) sys.machine.ctx.setCpu(rng.int(2));
    const bug = live.length > 0 && rng.chance(rate);
    if (!bug) {
      const got = observe(() => {
        const r = rng.float();
        if (live.length < 20 || r < 0.4) {
          const pick = rng.int(20);
          const kind = pick < 6 ? 'kmalloc' : pick < 12 ? 'cache' : pick < 19 ? 'dev' : 'large';
          const size = kind === 'cache' ? 200 : kind === 'large' ? 8193 + rng.int(24000) : 1 + rng.int(600);
          const addr = kind === 'cache' ? sys.kmem.kmemCacheAlloc(cache, GFP_KERNEL) : kind === 'dev' ? sys.dev.devKmalloc(dev, size, GFP_KERNEL) : sys.kmem.kmalloc(size, GFP_KERNEL);
          if (addr) {
            const o: Obj = { addr, size, kind };
            if (o.kind === 'dev') devHeaders.add(addr - 64);
            live.push(o);
          }
        } else if (r < 0.7) {
          const o = live[rng.int(live.length)]!;
          const off = rng.int(o.size);
          const len = 1 + rng.int(Math.min(16, o.size - off));
          if (rng.chance(0.5)) kasan.read(o.addr + off, len);
          else kasan.memset(o.addr + off, 0x5c, len);
        } else {
          const k = rng.int(live.length);
          const o = live[k]!;
          live.splice(k, 1);
          freeObj(o, i);
        }
      });
      if (got.length) {
        falseReports += got.length;
        if (problems.length < 8) problems.push(`op ${i}: ${got.join(', ')} without an injected bug`);
      }
      continue;
    }
    // Inject one bug.
    const classes: [string, string[], () => void][] = [];
    const o = live[rng.int(live.length)]!;
    // Slack from the size class, not from ksize(): asking ksize() would hand the slack to the client.
    const slackObj = pickWhere((x) => x.kind === 'kmalloc' && sys.kmem.kmallocBytesAlloc(x.size) > x.size);
    if (slackObj) {
      classes.push(['oob-read', ['slab-out-of-bounds'], () => void kasan.read(slackObj.addr + slackObj.size, 1)]);
    }
    const uaf = recentlyFreed[recentlyFreed.length - 1];
    if (uaf) classes.push(['uaf-read', ['slab-use-after-free'], () => void kasan.read(uaf.addr, 1)]);
    if (uaf && uaf.kind !== 'dev') classes.push(['double-free', ['double-free'], () => (uaf.kind === 'cache' ? sys.kmem.kmemCacheFree(cache, uaf.addr) : sys.kmem.kfree(uaf.addr))]);
    if (o.kind === 'kmalloc') classes.push(['invalid-free', ['invalid-free'], () => sys.kmem.kfree(o.addr + 1)]);
    if (o.kind === 'dev') classes.push(['kfree-dev-pointer', ['invalid-free'], () => sys.kmem.kfree(o.addr)]);
    const large = pickWhere((x) => x.kind === 'large' && x.size % PAGE_SIZE !== 0);
    if (large) classes.push(['large-oob-read', ['slab-out-of-bounds'], () => void kasan.read(large.addr + large.size, 1)]);
    const gone = lastLarge && lastLarge.step === i - 1 ? lastLarge.o : undefined;
    if (gone) classes.push(['large-uaf-read', ['use-after-free'], () => void kasan.read(gone.addr + rng.int(gone.size), 1)]);
    classes.push(['null-deref', ['null-ptr-deref'], () => void kasan.read(8 * rng.int(256), 8)]);
    classes.push(['user-access', ['user-memory-access'], () => void kasan.read(0x400000 + 8 * rng.int(1 << 20), 8)]);
    classes.push(['wild-access', ['wild-memory-access'], () => void kasan.read(PAGE_OFFSET + sys.machine.mem.bytes + 8 * rng.int(1 << 20), 8)]);
    if (o.kind === 'kmalloc' && o.size >= 64 && !devHeaders.has(o.addr)) classes.push(['dev_kfree-plain', ['error:invalid-free'], () => sys.dev.devKfree(o.addr + 64)]);
    const [name, expect, act] = classes[rng.int(classes.length)]!;
    injected++;
    byClass[name] = (byClass[name] ?? 0) + 1;
    const got = observe(act);
    const hit = got.filter((g) => expect.includes(g)).length;
    if (hit === 0) {
      missed++;
      if (problems.length < 8) problems.push(`op ${i}: injected ${name}, reported ${got.join(', ') || 'nothing'}`);
    }
    if (got.length - hit > 0) {
      falseReports += got.length - hit;
      if (problems.length < 8) problems.push(`op ${i}: injected ${name}, extra reports ${got.join(', ')}`);
    }
  }
  return { ops: opts.ops, injected, byClass, missed, falseReports, problems };
}

/**
 * Named misuse scenarios (the A-nn family of client bugs, plus the
 * seed's dev_kmalloc wrong-free story): each is a short client program with
 * one bug, the report it must produce, and a negative control — the
 * correct program — that must produce none. `allocsim scenario NAME` prints
 * the story step by step and the report; the tests assert both.
 */

import type { SystemConfigInput } from '../../interfaces/config.js';
import { AllocatorError } from '../../interfaces/errors.js';
import { GFP_KERNEL } from '../../interfaces/gfp.js';
import { PAGE_OFFSET, kptr, pfnToPhys } from '../../interfaces/units.js';
import { createSystem, type System } from '../../system.js';

/** What a scenario produced. */
export interface ScenarioOutcome {
  readonly steps: string[];
  /** Report kinds (detector reports, then a typed error if the program was stopped by one). */
  readonly kinds: string[];
  /** The full text of every report and error. */
  readonly text: string;
}

/** One scenario. */
export interface Scenario {
  readonly name: string;
  /** Catalogue id (A-01 …), `seed` for the seed design's story, or the detector's name for stories outside the catalogue. */
  readonly id: string;
  readonly summary: string;
  /** Configuration the scenario needs (debug options). */
  readonly config: SystemConfigInput;
  /** The report kind the bug must produce (first report or error). */
  readonly expect: string;
  /** Lines the report must contain. */
  readonly lines: readonly RegExp[];
  /** Runs the program; `buggy` false runs the negative control. */
  run(sys: System, step: (s: string) => void, buggy: boolean): void;
  /**
   * With detection off (`--no-detect`, SLUB): what the program does next,
   * unaware of its bug, so the consequence shows. Scenarios without one
   * cannot run with detection off. It records the client's live
   * allocations ([start, bytes]) in `live`, which the run checks for
   * overlap (X1), even when the program ends in an oops.
   */
  aftermath?(sys: System, step: (s: string) => void, live: [number, number][]): void;
}

/** The pointer a story's program worked on, for its detection-off continuation. */
const storyPtr = new WeakMap<System, number>();
const FULL_DEBUG: SystemConfigInput = { debug: { slubDebug: 'FZPU' } };

/** The catalogue. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'kmalloc-oob-right',
    id: 'A-01',
    summary: 'write one byte past a 115-byte kmalloc (slub_debug=FZPU): the kmalloc red zone catches it at kfree',
    config: FULL_DEBUG,
    expect: 'kmalloc Redzone overwritten',
    lines: [/BUG kmalloc-128 \(Not tainted\): kmalloc Redzone overwritten/, /First byte 0x79 instead of 0xcc/, /Object at 0x[0-9a-f]+ not freed/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(115, GFP_KERNEL);
      step(`p = kmalloc(115, GFP_KERNEL) = ${kptr(p)} (kmalloc-128)`);
      const off = buggy ? 115 : 114;
      sys.machine.mem.write8(p - PAGE_OFFSET + off, 0x79);
      step(`p[${off}] = 0x79${buggy ? '   <- one byte past the request' : ''}`);
      sys.kmem.kfree(p);
      step('kfree(p)');
    },
  },
  {
    name: 'kasan-oob-read',
    id: 'A-01',
    summary: 'read one byte past a 115-byte kmalloc through the KASAN-checked accessor',
    config: { debug: { kasan: true } },
    expect: 'slab-out-of-bounds',
    lines: [/BUG: KASAN: slab-out-of-bounds in kasan_read/, /Read of size 1 at addr/, /which belongs to the cache .+ of size \d+/, /located 0 bytes to the right of\n allocated 115-byte region/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(115, GFP_KERNEL);
      step(`p = kmalloc(115) = ${kptr(p)}`);
      const off = buggy ? 115 : 114;
      step(`x = p[${off}]${buggy ? '   <- one byte past the request' : ''}`);
      sys.kasan!.read(p + off, 1);
    },
  },
  {
    name: 'kasan-use-after-free',
    id: 'A-06',
    summary: 'kmalloc(43), kfree, kmalloc(43) again, then read the old pointer: the quarantine keeps it a use-after-free',
    config: { debug: { kasan: true } },
    expect: 'slab-use-after-free',
    lines: [/BUG: KASAN: slab-use-after-free in kasan_read/, /located 0 bytes inside of\n freed 43-byte region/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(43, GFP_KERNEL);
      step(`p = kmalloc(43) = ${kptr(p)}`);
      sys.kmem.kfree(p);
      step('kfree(p)');
      const q = sys.kmem.kmalloc(43, GFP_KERNEL);
      step(`q = kmalloc(43) = ${kptr(q)} (not p: p waits in the quarantine)`);
      step(`x = ${buggy ? 'p' : 'q'}[0]${buggy ? '   <- use after free' : ''}`);
      sys.kasan!.read(buggy ? p : q, 1);
    },
  },
  {
    name: 'use-after-free-write',
    id: 'A-05',
    summary: 'write into a freed cache object; the next allocation of it finds the poison broken (slub_debug=FZPU)',
    config: FULL_DEBUG,
    expect: 'Poison overwritten',
    lines: [/BUG uaf_cache \(Not tainted\): Poison overwritten/, /First byte 0x0 instead of 0x6b/, /Allocated in .*\nFreed in /],
    run(sys, step, buggy) {
      const c = sys.kmem.kmemCacheCreate('uaf_cache', 64);
      const o = sys.kmem.kmemCacheAlloc(c, GFP_KERNEL);
      step(`o = kmem_cache_alloc(uaf_cache) = ${kptr(o)}`);
      sys.kmem.kmemCacheFree(c, o);
      step('kmem_cache_free(uaf_cache, o)');
      if (buggy) {
        sys.machine.mem.write8(o - PAGE_OFFSET + 50, 0);
        step('o[50] = 0   <- write after free');
      }
      const again = sys.kmem.kmemCacheAlloc(c, GFP_KERNEL);
      step(`kmem_cache_alloc(uaf_cache) = ${kptr(again)} (the same object, LIFO)`);
    },
  },
  {
    name: 'double-free',
    id: 'A-07',
    summary: 'kfree the same kmalloc object twice',
    config: {},
    expect: 'double-free',
    lines: [/already free|double free/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(40, GFP_KERNEL);
      step(`p = kmalloc(40) = ${kptr(p)}`);
      sys.kmem.kfree(p);
      step('kfree(p)');
      if (buggy) {
        step('kfree(p)   <- again');
        sys.kmem.kfree(p);
      }
    },
    aftermath(sys, step, live) {
      step('(no detection) p is now on the kmalloc-64 free list twice, its free pointer pointing at itself');
      const a = sys.kmem.kmalloc(40, GFP_KERNEL);
      live.push([a, 40]);
      const b = sys.kmem.kmalloc(40, GFP_KERNEL);
      live.push([b, 40]);
      step(`a = kmalloc(40) = ${kptr(a)}, b = kmalloc(40) = ${kptr(b)}${a === b ? ': the same object, handed out twice' : ''}`);
      sys.machine.mem.fill(a - PAGE_OFFSET, 40, 0x41);
      step("memset(a, 'A', 40)   (a's owner writes over what SLUB takes for the free pointer)");
      const c = sys.kmem.kmalloc(40, GFP_KERNEL);
      live.push([c, 40]);
      step(`c = kmalloc(40) = ${kptr(c)}${c === a ? ' (a third time; the free list head is now the bytes a wrote)' : ''}`);
      step('d = kmalloc(40)');
      sys.kmem.kmalloc(40, GFP_KERNEL);
    },
  },
  {
    name: 'invalid-free',
    id: 'A-08',
    summary: 'kfree a pointer one byte into an object',
    config: {},
    expect: 'invalid-free',
    lines: [/is not an object of cache kmalloc-|is not a kmalloc block|not an object/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(64, GFP_KERNEL);
      storyPtr.set(sys, p);
      step(`p = kmalloc(64) = ${kptr(p)}`);
      step(`kfree(${buggy ? 'p + 1' : 'p'})`);
      sys.kmem.kfree(buggy ? p + 1 : p);
    },
    aftermath(sys, step, live) {
      const p = storyPtr.get(sys)!;
      live.push([p, 64]); // never really freed: its owner still has it as far as the allocator knows
      const q = sys.kmem.kmalloc(64, GFP_KERNEL);
      live.push([q, 64]);
      step(`(no detection) p + 1 went on the kmalloc-64 free list; q = kmalloc(64) = ${kptr(q)}${q === p + 1 ? ' = p + 1: misaligned, over p and 1 byte into the next object' : ''}`);
      const r = sys.kmem.kmalloc(64, GFP_KERNEL);
      live.push([r, 64]);
      step(`r = kmalloc(64) = ${kptr(r)}${r === p + 64 ? ' (the next object: its first byte is also q\'s last)' : ''}`);
    },
  },
  {
    name: 'wrong-cache-free',
    id: 'A-09',
    summary: 'kmem_cache_free an object to a cache it does not belong to',
    config: {},
    expect: 'invalid-free',
    lines: [/is not an object of cache cache_b/],
    run(sys, step, buggy) {
      const a = sys.kmem.kmemCacheCreate('cache_a', 200, 0, 0x1000000);
      const b = sys.kmem.kmemCacheCreate('cache_b', 200, 0, 0x1000000);
      const o = sys.kmem.kmemCacheAlloc(a, GFP_KERNEL);
      step(`o = kmem_cache_alloc(cache_a) = ${kptr(o)}`);
      step(`kmem_cache_free(${buggy ? 'cache_b' : 'cache_a'}, o)`);
      sys.kmem.kmemCacheFree(buggy ? b : a, o);
    },
  },
  {
    name: 'vmalloc-oob',
    id: 'A-16',
    summary: 'vmalloc(PAGE_SIZE/2 - 13), then a read one byte past the size, inside the same page (KASAN vmalloc shadow)',
    config: { debug: { kasan: true } },
    expect: 'vmalloc-out-of-bounds',
    lines: [/BUG: KASAN: vmalloc-out-of-bounds in vmalloc_read/, /Read of size 1 at addr ffffc90000000[0-9a-f]{3} by task/, /The buggy address belongs to the virtual mapping at/, / created by:\n vmalloc_oob\+0x/],
    run(sys, step, buggy) {
      const size = 4096 / 2 - 13;
      sys.machine.ctx.caller = 'vmalloc_oob+0x8d/0x1e0';
      const v = sys.vmalloc.vmalloc(size);
      step(`v = vmalloc(${size}) = ${kptr(v)}: one page mapped, then a guard page`);
      step(`read v[${buggy ? size : size - 1}]`);
      sys.vmalloc.read(v + (buggy ? size : size - 1), 1);
      sys.vmalloc.vfree(v);
    },
  },
  {
    name: 'vmalloc-guard-page',
    id: 'A-16',
    summary: 'write past the last page of a vmalloc area: the guard page is not mapped and the kernel oopses',
    config: {},
    expect: 'page fault',
    lines: [/^BUG: unable to handle page fault for address: ffffc90000002000$/m, /#PF: supervisor write access in kernel mode/, /#PF: error_code\(0x0002\) - not-present page/],
    run(sys, step, buggy) {
      const v = sys.vmalloc.vmalloc(2 * 4096);
      step(`v = vmalloc(8192) = ${kptr(v)}: pages at +0 and +4096, the guard page at +8192`);
      step(`write 1 byte at v + ${buggy ? 8192 : 8191}`);
      sys.vmalloc.write(v + (buggy ? 8192 : 8191), new Uint8Array([0x41]));
      sys.vmalloc.vfree(v);
    },
  },
  {
    name: 'vfree-of-kmalloc',
    id: 'A-09',
    summary: 'vfree a pointer that came from kmalloc (it is in the direct map, not in any vm area)',
    config: {},
    expect: 'invalid-free',
    lines: [/Trying to vfree\(\) nonexistent vm area \(ffff888[0-9a-f]+\)/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(8192, GFP_KERNEL);
      step(`p = kmalloc(8192) = ${kptr(p)} (a large kmalloc: page aligned, physically contiguous)`);
      step(buggy ? 'vfree(p)' : 'kvfree(p): routed to kfree, since p is not a vmalloc address');
      if (buggy) sys.vmalloc.vfree(p);
      else sys.vmalloc.kvfree(p);
    },
  },
  {
    name: 'kfree-of-vmalloc',
    id: 'A-09',
    summary: 'kfree a pointer that came from vmalloc',
    config: {},
    expect: 'invalid-free',
    lines: [/0xffffc90000000000 is (?:neither a slab object nor a large kmalloc|not in a slob page)/],
    run(sys, step, buggy) {
      const v = sys.vmalloc.vmalloc(3 * 4096);
      step(`v = vmalloc(12288) = ${kptr(v)}`);
      step(buggy ? 'kfree(v)' : 'kvfree(v): routed to vfree');
      if (buggy) sys.kmem.kfree(v);
      else sys.vmalloc.kvfree(v);
    },
  },
  {
    name: 'user-free-kernel-pointer',
    id: 'A-09',
    summary: "a kernel pointer leaks to user space and the program passes it to glibc's free()",
    config: {},
    expect: 'segfault',
    lines: [/segfault at ffff888[0-9a-f]+ ip 0000000000000000 sp 0000000000000000 error 4/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(64, GFP_KERNEL);
      step(`kernel: p = kmalloc(64) = ${kptr(p)}; a buggy ioctl copies p to user space`);
      const { libc } = sys.spawn();
      if (buggy) {
        step(`user: free(${kptr(p)}): glibc reads the chunk's size word at p - 8, a kernel address, in user mode`);
        libc.free(p);
      } else {
        const q = libc.malloc(64);
        step(`user: q = malloc(64) = 0x${q.toString(16)}; free(q)`);
        libc.free(q);
        step('kernel: kfree(p)');
        sys.kmem.kfree(p);
      }
    },
  },
  {
    name: 'large-kmalloc-invalid-free',
    id: 'A-10',
    summary: 'kfree a pointer into the second page of a large (page-allocator) kmalloc',
    config: {},
    expect: 'invalid-free',
    lines: [/points inside the large kmalloc at/],
    run(sys, step, buggy) {
      const p = sys.kmem.kmalloc(20000, GFP_KERNEL);
      step(`p = kmalloc(20000) = ${kptr(p)} (order-3 pages)`);
      step(`kfree(${buggy ? 'p + 4096' : 'p'})`);
      sys.kmem.kfree(buggy ? p + 4096 : p);
    },
  },
  {
    name: 'dev-kmalloc-header-underflow',
    id: 'A-15',
    summary: 'a driver writes before its dev_kmalloc buffer and smashes the header magic; dev_kfree finds it',
    config: {},
    expect: 'misuse',
    lines: [/dev_kmalloc header corrupted: magic 0x41adbeef instead of 0xdeadbeef/],
    run(sys, step, buggy) {
      const dev = sys.dev.registerDevice('eth0');
      const p = sys.dev.devKmalloc(dev, 100, GFP_KERNEL);
      step(`p = dev_kmalloc(eth0, 100) = ${kptr(p)}; header at ${kptr(p - 64)}`);
      if (buggy) {
        sys.machine.mem.write8(p - 64 - PAGE_OFFSET + 3, 0x41);
        step('p[-61] = 0x41   <- underflow into the header magic');
      }
      step('dev_kfree(p)');
      sys.dev.devKfree(p);
    },
  },
  {
    name: 'dev-kmalloc-wrong-free',
    id: 'seed',
    summary: "the seed's story: a driver frees a dev_kmalloc buffer with kfree(); kfree lands 64 bytes inside the object and the header would stay on the device list",
    config: {},
    expect: 'invalid-free',
    lines: [/kfree\(\) of a dev_kmalloc pointer/, /would be left behind — use dev_kfree\(\)/],
    run(sys, step, buggy) {
      const dev = sys.dev.registerDevice('sda');
      sys.machine.ctx.caller = 'sd_probe+0x120/0x3a0';
      const p = sys.dev.devKmalloc(dev, 48, GFP_KERNEL);
      step(`p = dev_kmalloc(sda, 48) = ${kptr(p)}; header (magic 0xdeadbeef) at ${kptr(p - 64)}, linked on sda's list`);
      step(buggy ? 'kfree(p)   <- the wrong API: kfree does not step back over the header' : 'dev_kfree(p)');
      if (buggy) sys.kmem.kfree(p);
      else sys.dev.devKfree(p);
    },
    aftermath(sys, step, live) {
      const p = sys.dev.allocations(sys.dev.devices()[0]!.handle)[0]!.ptr;
      step(`(no detection) kfree(p) put p, 64 bytes inside the 112-byte object, on the kmalloc-128 free list; the header stays on sda's list`);
      sys.machine.ctx.caller = 'usb_alloc_urb+0x30/0x80';
      const q = sys.kmem.kmalloc(100, GFP_KERNEL);
      step(`q = kmalloc(100) = ${kptr(q)}${q === p ? ' = p: another driver now owns [p, p+100), which runs 36 bytes into the next object' : ''}`);
      sys.machine.mem.fill(q - PAGE_OFFSET, 100, 0x55);
      step('memset(q, 0x55, 100)   (the other driver fills its buffer)');
      const rel = sys.dev.deviceRelease(sys.dev.devices()[0]!.handle);
      step(`device_release(sda) frees the ${rel.allocations.length} allocation${rel.allocations.length === 1 ? '' : 's'} still on its list — including p's header, whose object q is using`);
      const r = sys.kmem.kmalloc(100, GFP_KERNEL);
      step(`r = kmalloc(100) = ${kptr(r)}${r === p - 64 ? ' = the freed header: r and q now overlap' : ''}`);
      live.push([q, 100], [r, 100]);
    },
  },
  {
    name: 'dev-kfree-of-kmalloc',
    id: 'A-09',
    summary: 'dev_kfree a pointer that came from plain kmalloc: there is no header to step back to',
    config: {},
    expect: 'invalid-free',
    lines: [/not a dev_kmalloc pointer: no header/],
    run(sys, step, buggy) {
      const dev = sys.dev.registerDevice('usb1');
      const p = buggy ? sys.kmem.kmalloc(100, GFP_KERNEL) + 64 : sys.dev.devKmalloc(dev, 36, GFP_KERNEL);
      step(buggy ? `q = kmalloc(100); p = q + 64 = ${kptr(p)}` : `p = dev_kmalloc(usb1, 36) = ${kptr(p)}`);
      step('dev_kfree(p)');
      sys.dev.devKfree(p);
    },
  },
  {
    name: 'cache-destroy-live-objects',
    id: 'A-18',
    summary: 'kmem_cache_destroy a cache that still has an allocated object',
    config: {},
    expect: 'Objects remaining on __kmem_cache_shutdown()',
    lines: [/BUG leaky_cache \(Not tainted\): Objects remaining on __kmem_cache_shutdown\(\)/],
    run(sys, step, buggy) {
      const c = sys.kmem.kmemCacheCreate('leaky_cache', 96, 0, 0x1000000);
      const o = sys.kmem.kmemCacheAlloc(c, GFP_KERNEL);
      step(`o = kmem_cache_alloc(leaky_cache) = ${kptr(o)}`);
      if (!buggy) {
        sys.kmem.kmemCacheFree(c, o);
        step('kmem_cache_free(leaky_cache, o)');
      }
      const live = sys.kmem.kmemCacheDestroy(c);
      step(`kmem_cache_destroy(leaky_cache) -> ${live} objects still live`);
    },
  },
  {
    name: 'kmemleak-lost-pointer',
    id: 'kmemleak',
    summary: 'overwrite the only pointer to a kmalloc object, then scan (kmemleak): the object is reported unreferenced',
    config: { debug: { kmemleak: true } },
    expect: 'unreferenced object',
    lines: [/^unreferenced object 0x[0-9a-f]+ \(size 96\):$/m, /comm "allocsim", pid 1, jiffies \d+/, /backtrace:\n {4}\[<ffffffff81[0-9a-f]+>\] setup_ring\+0x24\/0x90/],
    run(sys, step, buggy) {
      const leak = sys.kmemleak!;
      const priv = sys.kmem.kzalloc(64, GFP_KERNEL);
      leak.addRoot(priv, 64);
      step(`priv = kzalloc(64) = ${kptr(priv)}   (a root: reachable from a global)`);
      sys.machine.ctx.caller = 'setup_ring+0x24/0x90';
      const ring = sys.kmem.kmalloc(96, GFP_KERNEL);
      sys.machine.mem.write64(priv - PAGE_OFFSET + 8, ring);
      step(`priv->ring = kmalloc(96) = ${kptr(ring)}`);
      if (buggy) {
        sys.machine.mem.write64(priv - PAGE_OFFSET + 8, 0);
        step('priv->ring = NULL   <- the only reference is lost without kfree');
      }
      const found = leak.scan();
      step(`echo scan > /sys/kernel/debug/kmemleak -> ${found.length} new suspected memory leak${found.length === 1 ? '' : 's'}`);
    },
  },
  {
    name: 'freechain-corrupt-validate',
    id: 'A-06',
    summary: 'write over a freed object (its free pointer), then validate the cache (SLUB): on_freelist finds the corrupt chain',
    config: {},
    expect: 'Freechain corrupt',
    lines: [/^BUG uaf_cache \(Not tainted\): Freechain corrupt$/m, /^Object 0x[0-9a-f]+ @offset=0 fp=0x4141414141414141$/m],
    run(sys, step, buggy) {
      sys.machine.ctx.setCpu(0);
      const c = sys.kmem.kmemCacheCreate('uaf_cache', 64, 0, 0);
      const per = sys.kmem.caches().find((x) => x.handle === c)!.geometry.objPerSlab;
      const objs: number[] = [];
      for (let i = 0; i <= per; i++) objs.push(sys.kmem.kmemCacheAlloc(c, GFP_KERNEL));
      step(`${per + 1} x kmem_cache_alloc(uaf_cache) (64 bytes, ${per} per slab: the first slab is full)`);
      const p = objs[0]!;
      sys.kmem.kmemCacheFree(c, p);
      step(`kmem_cache_free(uaf_cache, p = ${kptr(p)})   (p is now its slab's free list)`);
      if (buggy) {
        sys.machine.mem.fill(p - PAGE_OFFSET, 64, 0x41);
        step('memset(p, 0x41, 64)   <- write after free, over the free pointer');
      }
      const n = sys.kmem.kmemCacheValidate(c);
      step(`echo 1 > /sys/kernel/slab/uaf_cache/validate -> ${n} report${n === 1 ? '' : 's'}`);
    },
  },
  {
    name: 'write-to-freed-page',
    id: 'A-17',
    summary: 'write to a page after freeing it (page_poison=1): the next allocation of the page reports the corruption',
    config: { debug: { pagePoison: true } },
    expect: 'memory corruption',
    lines: [/^pagealloc: memory corruption$/m, /page dumped because: pagealloc: corrupted page details/],
    run(sys, step, buggy) {
      sys.machine.ctx.setCpu(0);
      const p = sys.pages.allocPages(0, GFP_KERNEL);
      step(`page = alloc_pages(GFP_KERNEL, 0) = pfn 0x${p.toString(16)}`);
      sys.pages.freePages(p, 0);
      step('__free_pages(page, 0)   (filled with 0xaa)');
      if (buggy) {
        sys.machine.mem.write32(pfnToPhys(p) + 128, 0x1234);
        step('*(u32 *)(page_address(page) + 128) = 0x1234   <- write after free');
      }
      const q = sys.pages.allocPages(0, GFP_KERNEL);
      step(`alloc_pages(GFP_KERNEL, 0) = pfn 0x${q.toString(16)} (the same page)`);
    },
  },
];

/** Looks a scenario up. @throws AllocatorError `unknown-name` */
export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new AllocatorError('unknown-name', `unknown scenario '${name}' (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}

/**
 * Runs a scenario on a fresh system and collects what it reported: detector
 * reports first, then the typed error that stopped the program, if any.
 */
export function runScenario(s: Scenario, opts: { slab?: string; buggy?: boolean; noDetect?: boolean } = {}): ScenarioOutcome {
  const base = s.config;
  if (opts.noDetect && !s.aftermath) throw new AllocatorError('misuse', `scenario '${s.name}' has no no-detect story (those that do: ${SCENARIOS.filter((x) => x.aftermath !== undefined).map((x) => x.name).join(', ')})`);
  const sys = createSystem({
    machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 },
    ...base,
    policies: { ...base.policies, ...(opts.slab ? { slab: opts.slab } : {}) },
    debug: { ...base.debug, ...(opts.noDetect ? { detect: false } : {}) },
  });
  const steps: string[] = [];
  let err: AllocatorError | undefined;
  const live: [number, number][] = [];
  try {
    s.run(sys, (line) => steps.push(line), opts.buggy ?? true);
    if (opts.noDetect) s.aftermath!(sys, (line) => steps.push(line), live);
  } catch (e) {
    if (!(e instanceof AllocatorError)) throw e;
    err = e;
  }
  if (opts.noDetect) {
    // Nothing reported the bug: the harm is what the invariant checks now find.
    const found = [...sys.slab.checkInvariants(), ...sys.dev.checkInvariants()];
    live.forEach(([a, n], i) => {
      for (const [b, m] of live.slice(i + 1)) {
        if (a < b + m && b < a + n) found.push({ code: 'X1', message: `live allocations overlap: [${kptr(a)}, +${n}) and [${kptr(b)}, +${m})` });
      }
    });
    for (const v of found) {
      sys.machine.reports.add({ detector: 'invariants', kind: v.code, addr: 0, text: `${v.code}: ${v.message}` });
    }
  }
  const reports = sys.machine.reports.list();
  const kinds = reports.map((r) => r.kind);
  const texts = reports.map((r) => r.text);
  if (err) {
    kinds.push(err.kind);
    texts.push(`${err.kind}: ${err.message}`);
  }
  return { steps, kinds, text: texts.join('\n\n') };
}

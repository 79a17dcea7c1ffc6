/**
 * The heap check's reports for corrupted metadata: they name the chunk, the
 * field (and where it is), the value found and what was expected, as glibc's
 * own checks do, instead of the fault that following the value would cause.
 */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';

const sys = () => createSystem({ machine: { memBytes: 64 * 2 ** 20, cpus: 2, kernelImageBytes: 4 << 20 }, debug: { checks: true } });
const codes = (libc: { checkInvariants(): { code: string; message: string }[] }) => libc.checkInvariants().map((v) => `${v.code}: ${v.message}`);

describe('ptmalloc heap check messages', () => {
  it('a chunk size past top names the chunk, the size field, its value and the most that fits', () => {
    const s = sys();
    const { mm, libc } = s.spawn();
    const a = libc.malloc(40);
    libc.malloc(40);
    expect(codes(libc)).toEqual([]);
    mm.write64(a - 8, 0x100000 | 1); // chunk a: size 1 MiB, PREV_INUSE
    const v = codes(libc);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatch(new RegExp(`^U1: chunk 0x${(a - 16).toString(16)}: size field \\(at 0x${(a - 8).toString(16)}\\) = 0x100001 gives size 0x100000, ending at 0x[0-9a-f]+ past top 0x[0-9a-f]+: expected at most 0x[0-9a-f]+ — corrupted size$`));
  });

  it('a size that is no multiple of 16 is reported as a corrupted size field', () => {
    const s = sys();
    const { mm, libc } = s.spawn();
    const a = libc.malloc(40);
    mm.write64(a - 8, 0x38 | 1);
    expect(codes(libc)[0]).toMatch(/^U1: chunk 0x[0-9a-f]+: size field \(at 0x[0-9a-f]+\) = 0x39 gives size 56: expected a multiple of 16, at least 32 — corrupted size$/);
  });

  it('a tcache next pointer outside the heap is a corrupted pointer, not a segfault', () => {
    const s = sys();
    const { mm, libc } = s.spawn();
    const a = libc.malloc(40);
    const b = libc.malloc(40);
    libc.malloc(40);
    libc.free(a);
    libc.free(b); // tcache: b -> a
    // Safe-Linking: the stored next is (pos >> 12) ^ target; aim it at an aligned address far outside the heap.
    const target = 0x10000000;
    mm.write64(b, Number((BigInt(b) >> 12n) ^ BigInt(target)));
    const v = codes(libc);
    expect(v.some((x) => /^U5: tcache bin \d+: entry 0x10000000 \(after 1 good ones\) is not a chunk of the heap: expected a chunk in \[0x[0-9a-f]+, top 0x[0-9a-f]+\) — a corrupted next pointer$/.test(x))).toBe(true);
    expect(v.some((x) => /segfault/.test(x))).toBe(false);
  });

  it('a bin link outside the heap names the chunk, the field and where it is', () => {
    const s = sys();
    const { mm, libc } = s.spawn();
    const a = libc.malloc(2000); // above tcache and fastbins: a free goes to the unsorted bin
    libc.malloc(40);
    libc.free(a);
    expect(codes(libc)).toEqual([]);
    mm.write64(a, 0x10000000); // fd
    const v = codes(libc);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatch(new RegExp(`^U4: bin 1: chunk 0x${(a - 16).toString(16)} field fd \\(at 0x${a.toString(16)}\\) = 0x10000000: expected a chunk in \\[0x[0-9a-f]+, top 0x[0-9a-f]+\\) or a bin header — corrupted$`));
  });
});

/** One contract for every user-space malloc policy, plus glibc's own abort messages for ptmalloc. */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';
import { policyNames } from '../../../src/policies/registry.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { userMallocContract } from '../../../src/testing/contracts/user.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

describe('malloc policies', () => {
  for (const malloc of policyNames('malloc')) userMallocContract({ label: malloc, config: { policies: { malloc } } }, { describe, it });
});

describe('ptmalloc misuse aborts with glibc 2.36 messages', () => {
  const abort = (fn: (libc: ReturnType<typeof spawn>) => void, msg: string, tcache = true): void => {
    const libc = spawn(tcache);
    try {
      fn(libc);
      throw new Error('did not abort');
    } catch (e) {
      expect(isAllocatorError(e, 'malloc-abort')).toBe(true);
      expect((e as Error).message).toBe(msg);
    }
  };
  const spawn = (tcache: boolean) => createSystem({ ...MACHINE, user: { tcache } }).spawn().libc;
  it('double free in the tcache', () => abort((l) => { const p = l.malloc(40); l.free(p); l.free(p); }, 'free(): double free detected in tcache 2'));
  it('double free at the top of a fastbin', () => abort((l) => { const p = l.malloc(40); l.malloc(40); l.free(p); l.free(p); }, 'double free or corruption (fasttop)', false));
  it('double free of a small chunk', () => abort((l) => { const p = l.malloc(400); l.malloc(40); l.free(p); l.free(p); }, 'double free or corruption (!prev)', false));
  it('misaligned pointer', () => abort((l) => { const p = l.malloc(400); l.free(p + 8); }, 'free(): invalid pointer'));
  it('overflow into the next chunk header', () => abort((l) => {
    const sys = createSystem(MACHINE);
    const { mm, libc } = sys.spawn();
    const p = libc.malloc(2000);
    libc.malloc(24);
    mm.write64(p + 2000 + 8, 1); // smash the next chunk's size (PREV_INUSE kept)
    libc.free(p);
    void l;
  }, 'free(): invalid next size (normal)'));
});

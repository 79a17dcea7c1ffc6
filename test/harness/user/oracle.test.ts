import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';
import { glibcOracle, runOracle } from '../../../src/harness/user/oracle.js';
import { generateUserTraceText } from '../../../src/harness/user/trace-gen.js';
import { parseUserTrace } from '../../../src/harness/user/trace.js';
import { replayUserTrace } from '../../../src/harness/user/replayer.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };
const oracle = glibcOracle();
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

describe('ptmalloc against the real glibc 2.36 (address for address)', () => {
  if (!oracle.ok) {
    it.skip(`skipped: ${oracle.reason}`, () => undefined);
    return;
  }
  for (const tcache of [true, false]) {
    it.each(SEEDS)(`seed %i, 3000 mixed ops, tcache ${tcache ? 'on' : 'off'}: every --addresses line equals glibc's`, (seed) => {
      const text = generateUserTraceText({ seed, ops: 3000 });
      const want = runOracle(text, { tcache });
      const sys = createSystem({ ...MACHINE, user: { tcache } });
      const got = replayUserTrace(sys, parseUserTrace(text, 'plain'), { addresses: true }).addresses!;
      expect(got.length).toBe(want.length);
      const firstDiff = got.findIndex((l, i) => l !== want[i]);
      expect(firstDiff === -1 ? 'identical' : `line ${firstDiff}: sim '${got[firstDiff]}' vs glibc '${want[firstDiff]}'`).toBe('identical');
      expect(sys.checkInvariants()).toEqual([]);
    });
  }

  it('the first malloc lands after the 0x290 tcache struct (offset 672) and 200 KiB is mmapped', () => {
    const text = 'a 0 24\na 1 204800\nf 0\na 2 24\n';
    expect(runOracle(text, { tcache: true })).toEqual(['0 heap 672', '1 mmap -', '2 heap 672']);
    const got = replayUserTrace(createSystem(MACHINE), parseUserTrace(text, 'plain'), { addresses: true }).addresses;
    expect(got).toEqual(['0 heap 672', '1 mmap -', '2 heap 672']);
  });
});

/**
 * The user-trace replayer's `touch` option: a block handed out gets one
 * write in every page its requested bytes span, so RSS counts the payload
 * as a program that initializes its memory would; without it only the
 * allocator's own writes fault pages in.
 */
import { describe, expect, it } from '@jest/globals';

import { replayUserTrace } from '../../../src/harness/user/replayer.js';
import { parseUserTrace } from '../../../src/harness/user/trace.js';
import { createSystem } from '../../../src/system.js';

const MACHINE = { machine: { memBytes: 64 << 20, cpus: 1 } };

describe('replayUserTrace touch', () => {
  it('faults in every page of each block (mmapped ones included) only when asked', () => {
    // 200 KiB is above the mmap threshold: ptmalloc maps 51 pages and writes only the chunk header.
    const trace = parseUserTrace('a 0 204800\na 1 10000\nr 1 30000\n', 'plain');
    const plain = replayUserTrace(createSystem(MACHINE), trace);
    const touched = replayUserTrace(createSystem(MACHINE), trace, { touch: true });
    // The mmapped block spans 51 pages (its header page is faulted either way); the heap block grows to 30,000 bytes.
    expect(touched.rssHwmPages - plain.rssHwmPages).toBeGreaterThanOrEqual(50 + 5);
    expect(touched.rssHwmPages - plain.rssHwmPages).toBeLessThanOrEqual(51 + 8);
    expect(touched.peakLiveBytes).toBe(plain.peakLiveBytes);
  });
});

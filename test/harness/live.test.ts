/** A live run (paced, sampled) ends where the one-shot run of the same seed does. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSystem, type System } from '../../src/system.js';
import { liveSnapshot, runLive, type LiveJob, type LiveSnapshot } from '../../src/harness/live.js';
import { runPageWorkload } from '../../src/harness/workloads/page.js';
import { runSlabTrace, runSlabWorkload } from '../../src/harness/workloads/slab.js';
import { parseFtraceKmem } from '../../src/harness/trace/ftrace-kmem.js';
import { ROOT } from '../support/workdir.js';

const config = { machine: { memBytes: 128 * 2 ** 20, cpus: 4, kernelImageBytes: 4 * 2 ** 20 }, seed: 7, debug: { checks: false, cost: true } };
const fresh = (policies: Record<string, string> = {}): System => createSystem({ ...config, policies });

/** The state a snapshot shows, without the run's own clock. */
const state = (s: LiveSnapshot): unknown => ({ caches: s.caches, zones: s.zones, pageStats: s.pageStats, slabStats: s.slabStats, cost: s.cost });

describe('runLive', () => {
  it.each(['slub', 'slab', 'slob'])('ends a %s workload where the one-shot run ends, sampling on the way', (slab) => {
    const samples: LiveSnapshot[] = [];
    const job: LiveJob = { layer: 'slab', workload: 'kernel-mix', ops: 30000 };
    // 150,000 ops/s: 0.2 s, so a 20 ms interval gives samples mid-run.
    const last = runLive(fresh({ slab }), job, { rate: 150000, intervalMs: 20, onSample: (s) => samples.push(s) });
    const ref = fresh({ slab });
    runSlabWorkload(ref, 'kernel-mix', 30000, 7, true);
    expect(state(last)).toEqual(state(liveSnapshot(ref, 'slab', last)));
    expect(last.finished).toBe(true);
    expect(last.opsDone).toBe(30000);
    expect(samples.at(-1)).toBe(last);
    const mid = samples.filter((s) => !s.finished);
    expect(mid.length).toBeGreaterThan(2);
    // Progress only grows, and the pacing holds the speed near the rate asked for.
    mid.forEach((s, i) => i > 0 && expect(s.opsDone).toBeGreaterThanOrEqual(mid[i - 1]!.opsDone));
    expect(last.elapsedMs).toBeGreaterThan(150);
    expect(last.opsPerSec).toBeLessThan(165000);
  });

  it('ends a page workload and a trace replay where the one-shot runs end', () => {
    const page = runLive(fresh({ page: 'buddy' }), { layer: 'page', workload: 'fragmenter', ops: 20000 }, { rate: 0, intervalMs: 1000, onSample: () => undefined });
    const refPage = fresh({ page: 'buddy' });
    runPageWorkload(refPage, 'fragmenter', 20000, 7, true);
    expect(state(page)).toEqual(state(liveSnapshot(refPage, 'page', page)));
    expect(page.policy).toBe('buddy');

    const events = parseFtraceKmem(readFileSync(join(ROOT, 'data/traces/kmem-boot-excerpt.txt'), 'utf8')).events;
    const trace = runLive(fresh(), { layer: 'slab', workload: 'kernel-mix', ops: 0, trace: { label: 'trace excerpt', events } }, { rate: 0, intervalMs: 1000, onSample: () => undefined });
    const refTrace = fresh();
    runSlabTrace(refTrace, 'trace excerpt', events);
    expect(state(trace)).toEqual(state(liveSnapshot(refTrace, 'slab', trace)));
    expect(trace.opsTotal).toBeNull();
    expect(trace.run).toBe(`trace excerpt (${events.length} events)`);
  });

  it('needs the cost meter (its clock)', () => {
    const job: LiveJob = { layer: 'slab', workload: 'uniform-small', ops: 10 };
    expect(() => runLive(createSystem({ ...config, debug: { cost: false } }), job, { rate: 0, intervalMs: 10, onSample: () => undefined })).toThrow(/needs the cost meter/);
  });
});

import { createSystem } from './dist/system.js';
import { runSlabWorkload } from './dist/harness/workloads/slab.js';
for (let k = 0; k < 8; k++) {
  const sys = createSystem({ machine: { memBytes: 1 << 30, cpus: 4 }, debug: { kasan: true } });
  runSlabWorkload(sys, 'kernel-mix', 100000, 1);
}

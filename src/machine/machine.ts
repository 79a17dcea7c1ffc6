/**
 * The simulated machine: layout, struct-page array, byte storage, execution
 * context and tracer, built once per system and shared by every layer (bound
 * as a constant under the MACHINE token, typed by the `Machine` contract).
 */

import type { MachineOpts } from '../interfaces/config.js';
import type { Machine } from '../interfaces/machine.js';
import { ExecContext } from './context.js';
import { CostMeter, meterLists, meterMemory } from './cost.js';
import { MachineLayout } from './layout.js';
import { MemMap, Owner, PG_RESERVED } from './memmap.js';
import { PhysicalMemory } from './physmem.js';
import { KernelLog, Tracer } from './tracer.js';
import { ReportSink } from './reports.js';

/** Everything below the page allocator. */
export class SimulatedMachine implements Machine {
  readonly opts: MachineOpts;
  readonly layout: MachineLayout;
  readonly memmap: MemMap;
  readonly mem: PhysicalMemory;
  readonly ctx: ExecContext;
  readonly tracer: Tracer;
  /** Kernel log lines (warnings). */
  readonly log: KernelLog;
  /** Bug-detector reports. */
  readonly reports: ReportSink;
  /** Page poisoning (`page_poison=1`): freed pages read 0xaa and are checked on allocation. */
  readonly pagePoison: boolean;
  /** The cost meter (`debug.cost`), or null. */
  readonly cost: CostMeter | null;

  /**
   * Lays out the machine and marks memblock's reservations (and the holes)
   * `PG_reserved`, as `reserve_bootmem_region` does.
   *
   * @param opts - machine options (validated by the layout)
   * @param trace - start with tracing on
   * @param pagePoison - `page_poison=1`
   * @param cost - count costs (`debug.cost`): a meter, with physical memory's scalar accesses metered
   */
  constructor(opts: MachineOpts, trace = false, pagePoison = false, cost = false) {
    this.pagePoison = pagePoison;
    this.cost = cost ? new CostMeter() : null;
    this.opts = opts;
    this.layout = new MachineLayout(opts);
    const n = this.layout.nrPages;
    this.memmap = new MemMap(n);
    this.mem = new PhysicalMemory(n);
    if (this.cost) {
      meterMemory(this.mem, this.cost);
      meterLists(this.memmap.lists, this.cost);
    }
    this.ctx = new ExecContext(opts.cpus);
    this.tracer = new Tracer(this.ctx, trace);
    this.log = new KernelLog(this.ctx);
    this.reports = new ReportSink(this.log);
    // Every frame starts reserved; memblock_free_all clears what it frees.
    this.memmap.flags.fill(PG_RESERVED | (Owner.RESERVED << 12));
  }
}

/**
 * Execution context of the single-threaded simulation: the CPU the next
 * call runs on (`smp_processor_id()`), the current task, and a logical clock
 * that advances one tick per traced operation, so that timestamps are a
 * pure function of the call sequence.
 */

import { AllocatorError } from '../interfaces/errors.js';

/** Nanoseconds the logical clock advances per tick (1 µs). */
export const NS_PER_TICK = 1000;

/** The "current" of the simulated kernel. */
export class ExecContext {
  /** Number of CPUs. */
  readonly nrCpus: number;
  private cpuId = 0;
  /** Task name (`current->comm`). */
  comm = 'allocsim';
  /** Task id (`current->pid`). */
  pid = 1;
  /** Logical ticks since boot. */
  ticks = 0;
  /** `call_site` the next traced allocation reports (`%pS` form); workloads and replays set it. */
  caller = 'allocsim_client+0x0/0x0';

  /** @param nrCpus - CPUs of the machine */
  constructor(nrCpus: number) {
    this.nrCpus = nrCpus;
  }

  /** The CPU calls run on. */
  get cpu(): number {
    return this.cpuId;
  }

  /**
   * Moves execution to another CPU.
   * @throws AllocatorError `invalid-cpu`
   */
  setCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) {
      throw new AllocatorError('invalid-cpu', `cpu ${String(cpu)} does not exist (machine has ${this.nrCpus})`, { policy: 'context', op: 'set_cpu' });
    }
    this.cpuId = cpu;
  }

  /** Advances the logical clock and returns the new time in ns. */
  tick(): number {
    return ++this.ticks * NS_PER_TICK;
  }

  /** Current logical time in ns. */
  get nowNs(): number {
    return this.ticks * NS_PER_TICK;
  }
}

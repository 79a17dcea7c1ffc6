/**
 * Execution context of the single-threaded simulation: the CPU the next
 * call runs on (`smp_processor_id()`), the current task, and a logical clock
 * that advances one tick per traced operation, so that timestamps are a
 * pure function of the call sequence.
 */

import { AllocatorError } from '../interfaces/errors.js';
import type { ExecContextApi } from '../interfaces/machine.js';
import { kptr } from '../interfaces/units.js';

/** Base of the pseudo kernel-text addresses callers get (0xffffffff81000000 without the sign extension). */
const TEXT_BASE = 0xffff81000000;
/** Nanoseconds the logical clock advances per tick (1 µs). */
export const NS_PER_TICK = 1000;

/** The "current" of the simulated kernel. */
export class ExecContext implements ExecContextApi {
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

  private readonly symbols = new Map<number, string>();

  /**
   * A pseudo kernel-text address for the current `caller` (`_RET_IP_`),
   * stable per symbol, remembered so reports can print the symbol again.
   */
  callerAddr(): number {
    return this.callerAddrOf(this.caller);
  }

  /** The pseudo text address of a symbol. */
  callerAddrOf(sym: string): number {
    let h = 2166136261;
    for (let i = 0; i < sym.length; i++) h = Math.imul(h ^ sym.charCodeAt(i), 16777619) >>> 0;
    const addr = TEXT_BASE + (h & 0xfffff) * 16;
    this.symbols.set(addr, sym);
    return addr;
  }

  /** The symbol of an address from {@link callerAddr} (`%pS`), or the address as `%pS` prints an unknown one (`0xffffffff8100abcd`). */
  symbolOf(addr: number): string {
    return this.symbols.get(addr) ?? kptr(addr);
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

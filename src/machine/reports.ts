/**
 * Reports of the bug detectors (SLUB_DEBUG and SLAB debugging, devres,
 * KASAN, page poisoning, kmemleak, and the oopses and invariant failures a
 * run stops on): kept in order for tests, the CLI and scenarios, and printed
 * to the kernel log line by line, as the kernel prints them.
 */

import type { DebugReport, KernelLogApi, ReportSinkApi } from '../interfaces/machine.js';


/** Where reports go: kept for tests and the CLI, and printed to the kernel log. */
export class ReportSink implements ReportSinkApi {
  private readonly items: DebugReport[] = [];
  constructor(private readonly log: KernelLogApi) {}
  add(r: DebugReport): void {
    this.items.push(r);
    for (const line of r.text.split('\n')) this.log.printk(line);
  }
  /** Appends a line to the last report (printed too), as the kernel prints follow-up lines such as `Object at … not freed`. */
  amendLast(line: string): void {
    const last = this.items[this.items.length - 1];
    if (last) this.items[this.items.length - 1] = { ...last, text: `${last.text}\n${line}` };
    this.log.printk(line);
  }

  list(): readonly DebugReport[] {
    return this.items;
  }
  clear(): void {
    this.items.length = 0;
  }
}


/** Fuzz commands that act on CPUs: move to another CPU, drain per-CPU lists. */

import type { Command } from 'fast-check';
import { FUZZ_MAX_CPU } from '../common.js';
import { int, spec } from '../schema.js';
import { checkAll, type PageModel, type PageReal } from './model.js';

/** Runs the following commands on CPU `cpu % nrCpus`. */
export class SetCpuCommand implements Command<PageModel, PageReal> {
  constructor(readonly cpu: number) {}
  check(): boolean {
    return true;
  }
  run(_model: PageModel, real: PageReal): void {
    const ctx = real.sys.machine.ctx;
    ctx.setCpu(this.cpu % ctx.nrCpus);
  }
  toString(): string {
    return `set_cpu(${this.cpu})`;
  }
  toJSON(): object {
    return { op: 'set_cpu', cpu: this.cpu };
  }
}

/** drain_all_pages (cpu < 0) or drain_local_pages(cpu % nrCpus). */
export class DrainCommand implements Command<PageModel, PageReal> {
  constructor(readonly cpu: number) {}
  check(): boolean {
    return true;
  }
  run(_model: PageModel, real: PageReal): void {
    real.sys.pages.drainPcp(this.cpu < 0 ? undefined : this.cpu % real.sys.machine.ctx.nrCpus);
    checkAll(real);
  }
  toString(): string {
    return this.cpu < 0 ? 'drain_all_pages()' : `drain_local_pages(${this.cpu})`;
  }
  toJSON(): object {
    return { op: 'drain', cpu: this.cpu };
  }
}

/** Stored form: `{ op: 'set_cpu', cpu }`. */
export const SET_CPU_SPEC = spec('set_cpu', { cpu: int(0, FUZZ_MAX_CPU) }, (v) => new SetCpuCommand(v.cpu));

/** Stored form: `{ op: 'drain', cpu }` (-1: every CPU). */
export const DRAIN_SPEC = spec('drain', { cpu: int(-1, FUZZ_MAX_CPU) }, (v) => new DrainCommand(v.cpu));

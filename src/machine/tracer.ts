/**
 * ftrace-style event recorder. Layers call {@link Tracer.emit} only when
 * `enabled` is true, so tracing costs one branch when off. Lines follow the
 * kernel's trace file layout:
 *
 * `           <comm>-<pid>     [<cpu>] .....  <sec>.<usec>: <event>: <fields>`
 */

import type { ExecContext } from './context.js';
import type { KernelLogApi, TraceEvent, TracerApi } from '../interfaces/machine.js';


/** Collects events while enabled; keeps at most `limit` (oldest dropped, like a ring buffer). */
export class Tracer implements TracerApi {
  /** Whether layers should emit. */
  enabled: boolean;
  private readonly events: TraceEvent[] = [];
  private dropped = 0;

  /**
   * @param ctx - the execution context that supplies cpu, task and time
   * @param enabled - start enabled
   * @param limit - ring size in events
   */
  constructor(
    private readonly ctx: ExecContext,
    enabled = false,
    private readonly limit = 1_000_000,
  ) {
    this.enabled = enabled;
  }

  /** Records an event at the current logical time (advancing the clock). */
  emit(event: string, text: string): void {
    const ns = this.ctx.tick();
    if (this.events.length >= this.limit) {
      this.events.shift();
      this.dropped++;
    }
    this.events.push({ ns, cpu: this.ctx.cpu, comm: this.ctx.comm, pid: this.ctx.pid, event, text });
  }

  /** Events recorded so far. */
  list(): readonly TraceEvent[] {
    return this.events;
  }

  /** Events lost to the ring limit. */
  get lost(): number {
    return this.dropped;
  }

  /** Forgets all events. */
  clear(): void {
    this.events.length = 0;
    this.dropped = 0;
  }

  /** Formats the events as a kernel `trace` file body (with the standard header). */
  format(): string {
    const lines = traceHeader(this.events.length, this.events.length + this.dropped, this.ctx.nrCpus);
    for (const e of this.events) lines.push(formatTraceLine(e));
    return lines.join('\n') + '\n';
  }
}

/** The header block of a kernel `trace` file (`# tracer: nop` and the irq-info legend). */
export function traceHeader(entries: number, written: number, cpus: number): string[] {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${entries}/${written}   #P:${cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ];
}

/** One event as a trace-file line. */
export function formatTraceLine(e: TraceEvent): string {
  const task = `${e.comm}-${e.pid}`.padStart(22);
  const cpu = String(e.cpu).padStart(3, '0');
  const sec = Math.floor(e.ns / 1e9);
  const usec = Math.floor((e.ns % 1e9) / 1000);
  const ts = `${sec}.${String(usec).padStart(6, '0')}`.padStart(12);
  return `${task} [${cpu}] ..... ${ts}: ${e.event}: ${e.text}`;
}

/** The kernel log (`dmesg`): warnings such as `page allocation failure`, with logical timestamps. */
export class KernelLog implements KernelLogApi {
  private readonly lines: string[] = [];

  /** @param ctx - supplies the timestamp */
  constructor(
    private readonly ctx: ExecContext,
    private readonly limit = 10_000,
  ) {}

  /** Appends a line as printk does: `[    0.000123] text`. */
  printk(text: string): void {
    const ns = this.ctx.nowNs;
    const stamp = `${Math.floor(ns / 1e9)}.${String(Math.floor((ns % 1e9) / 1000)).padStart(6, '0')}`.padStart(12);
    if (this.lines.length >= this.limit) this.lines.shift();
    this.lines.push(`[${stamp}] ${text}`);
  }

  /** Lines so far. */
  list(): readonly string[] {
    return this.lines;
  }
}

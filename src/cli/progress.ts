/**
 * The live progress of a fuzz campaign on stderr: one line rewritten in
 * place on a terminal, a plain line every {@link PLAIN_EVERY_MS} otherwise
 * (a log file, CI). Elapsed time, runs, runs/s, commands/s, findings,
 * distinct findings and coverage (distinct command/outcome pairs).
 */

import type { CampaignProgress } from '../../fuzz/scale/coordinator.js';

/** Interval of the plain lines when stderr is not a terminal. */
export const PLAIN_EVERY_MS = 10_000;
/** Interval of the terminal line's redraw. */
const TTY_EVERY_MS = 250;

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** `1h02m03s`, `4m05s`, `6.7s`. */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : `${m}m${String(sec).padStart(2, '0')}s`;
}

/** One progress line. */
export function progressLine(p: CampaignProgress): string {
  const secs = Math.max(p.elapsedMs, 1) / 1000;
  return `${formatElapsed(p.elapsedMs)}  runs ${n(p.runs)} (${n(p.runs / secs)}/s)  commands ${n(p.commands)} (${n(p.commands / secs)}/s)  findings ${n(p.findings)} (${n(p.distinct)} distinct)  coverage ${n(p.coverage)}`;
}

/** A progress reporter: `update` with each new figure, `end` once. */
export interface ProgressReporter {
  update(p: CampaignProgress): void;
  end(): void;
}

/** The reporter for `stream` (silent when `quiet`). */
export function progressReporter(stream: NodeJS.WriteStream, quiet: boolean): ProgressReporter {
  if (quiet) return { update: () => {}, end: () => {} };
  const tty = stream.isTTY === true;
  let last: CampaignProgress | undefined;
  let shown = 0;
  const t0 = Date.now();
  const draw = (): void => {
    if (!last) return;
    const live = { ...last, elapsedMs: Date.now() - t0 };
    stream.write(tty ? `\r\x1b[K${progressLine(live)}` : `${progressLine(live)}\n`);
    shown = Date.now();
  };
  const timer = setInterval(draw, tty ? TTY_EVERY_MS : PLAIN_EVERY_MS);
  timer.unref();
  return {
    update: (p) => {
      last = p;
      if (tty && Date.now() - shown >= TTY_EVERY_MS) draw();
    },
    end: () => {
      clearInterval(timer);
      if (tty && shown) stream.write('\r\x1b[K');
    },
  };
}

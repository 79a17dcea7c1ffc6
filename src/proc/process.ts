/**
 * `/proc/PID/maps` and `/proc/PID/smaps` of a simulated process, in Linux
 * 6.8's format (fs/proc/task_mmu.c): `show_vma_header_prefix` prints
 * `start-end perms offset dev inode ` and, when the VMA has a name, pads to
 * column 73 before it (`seq_setwidth(25 + 6 * sizeof(void *) - 1)` then
 * `seq_pad`); anonymous VMAs end with the trailing space. The simulated
 * image is not a real file, so its lines show device 00:00 and inode 0,
 * with the file offset a PIE's segments would have. smaps fields are the
 * 6.8 list with `%8lu kB` values; every simulated page is private, dirty and
 * referenced, so Rss = Pss = Pss_Dirty = Private_Dirty = Referenced.
 */

import type { ProcessMemory, VmaInfo } from '../interfaces/user.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../interfaces/user.js';

const IMAGE_BASE = 0x555555554000;

function header(v: VmaInfo): string {
  const perms = `${v.prot & PROT_READ ? 'r' : '-'}${v.prot & PROT_WRITE ? 'w' : '-'}${v.prot & PROT_EXEC ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
  const file = v.name.startsWith('/');
  const off = file ? v.start - IMAGE_BASE : 0;
  const prefix = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms} ${off.toString(16).padStart(8, '0')} 00:00 0 `;
  return v.name === '' ? prefix : prefix.padEnd(73) + v.name;
}

/** `/proc/PID/maps`. */
export function maps(mm: ProcessMemory): string {
  return mm.vmas().map(header).join('\n') + '\n';
}

function vmFlags(v: VmaInfo): string {
  const f: string[] = [];
  if (v.prot & PROT_READ) f.push('rd');
  if (v.prot & PROT_WRITE) f.push('wr');
  if (v.prot & PROT_EXEC) f.push('ex');
  f.push('mr', 'mw', 'me');
  if (v.name === '[stack]') f.push('gd');
  if (v.account) f.push('ac');
  if (v.noreserve) f.push('nr');
  return f.join(' ') + ' ';
}

/** `/proc/PID/smaps`. */
export function smaps(mm: ProcessMemory): string {
  const out: string[] = [];
  const kb = (label: string, n: number): string => `${(label + ':').padEnd(16)}${String(n).padStart(8)} kB`;
  for (const v of mm.vmas()) {
    const rss = v.rssPages * 4;
    const anon = v.name.startsWith('/') && !(v.prot & PROT_WRITE) ? 0 : rss;
    out.push(
      header(v),
      kb('Size', (v.end - v.start) / 1024),
      kb('KernelPageSize', 4),
      kb('MMUPageSize', 4),
      kb('Rss', rss),
      kb('Pss', rss),
      kb('Pss_Dirty', rss),
      kb('Shared_Clean', 0),
      kb('Shared_Dirty', 0),
      kb('Private_Clean', 0),
      kb('Private_Dirty', rss),
      kb('Referenced', rss),
      kb('Anonymous', anon),
      kb('KSM', 0),
      kb('LazyFree', 0),
      kb('AnonHugePages', 0),
      kb('ShmemPmdMapped', 0),
      kb('FilePmdMapped', 0),
      kb('Shared_Hugetlb', 0),
      kb('Private_Hugetlb', 0),
      kb('Swap', 0),
      kb('SwapPss', 0),
      kb('Locked', 0),
      `THPeligible:    ${String(0).padStart(8)}`,
      `VmFlags: ${vmFlags(v)}`,
    );
  }
  return out.join('\n') + '\n';
}

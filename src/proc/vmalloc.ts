/**
 * `/proc/vmallocinfo` in Linux 6.8's format (mm/vmalloc.c `s_show`,
 * `show_numa_info`, `show_purge_info`): per busy area, in address order,
 * `0x%pK-0x%pK %7ld` (start, end including the guard page, size), the
 * caller ` %pS`, ` pages=%d` when it has pages, the flag words (` ioremap`,
 * ` vmalloc`, ` vmap`, ` user`, ` dma-coherent`), ` vpages` when the page
 * array is itself vmalloc'ed, and ` N<node>=<pages>` for each node holding
 * pages; then every lazily freed range as `… %7ld unpurged vm_area`. Read as
 * root with kptr_restrict allowing it, `%pK` prints the full address.
 */

import { formatKernelAddr } from '../interfaces/units.js';
import { VM_FLAG_WORDS, type VmAreaInfo } from '../interfaces/vmalloc.js';

const range = (a: VmAreaInfo): string => `0x${formatKernelAddr(a.start)}-0x${formatKernelAddr(a.end)} ${String(a.size).padStart(7)}`;

/** The text of /proc/vmallocinfo for the given areas (busy first, then unpurged, as `areas()` lists them). */
export function vmallocinfo(areas: readonly VmAreaInfo[]): string {
  const lines: string[] = [];
  for (const a of areas) {
    if (a.unpurged) {
      lines.push(`${range(a)} unpurged vm_area`);
      continue;
    }
    let l = range(a);
    if (a.caller !== '') l += ` ${a.caller}`;
    if (a.nrPages > 0) l += ` pages=${a.nrPages}`;
    for (const [bit, word] of VM_FLAG_WORDS) if ((a.flags & bit) !== 0) l += ` ${word}`;
    if (a.vpages) l += ' vpages';
    a.nodePages.forEach((n, nid) => {
      if (n) l += ` N${nid}=${n}`;
    });
    lines.push(l);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * Units of the simulated machine: branded address, frame-number and order
 * types, the layout constants of x86_64 with 4 KiB pages, and the converters
 * between them. Nothing here allocates; every converter is a plain arithmetic
 * function so it can sit on a hot path.
 *
 * Addresses are JS numbers below 2^53. Kernel virtual addresses are stored
 * without the `0xffff` sign extension (`0x888000000000` is the start of the
 * direct map); {@link formatKernelAddr} adds it back for printing.
 */

declare const addrBrand: unique symbol;
declare const pfnBrand: unique symbol;
declare const orderBrand: unique symbol;

/** A byte address (physical or virtual, as the name of the variable says). */
export type Addr = number & { readonly [addrBrand]: true };
/** A page frame number: physical address >> PAGE_SHIFT. */
export type Pfn = number & { readonly [pfnBrand]: true };
/** A buddy order: a block of `1 << order` pages. */
export type Order = number & { readonly [orderBrand]: true };

/** log2 of the page size. */
export const PAGE_SHIFT = 12;
/** Bytes per page. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Largest buddy order (Linux 6.8 `MAX_PAGE_ORDER`), inclusive. */
export const MAX_PAGE_ORDER = 10;
/** Number of buddy orders (Linux 6.8 `NR_PAGE_ORDERS`). */
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** Orders above this are "costly" (`PAGE_ALLOC_COSTLY_ORDER`). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
/** Pageblock order on x86_64 (2 MiB, the huge-page order). */
export const PAGEBLOCK_ORDER = 9;
/** Pages per pageblock. */
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;
/** Start of the kernel direct map of all physical memory (without the ffff sign extension). */
export const PAGE_OFFSET = 0x888000000000;
/** Start of vmalloc space (without the ffff sign extension). */
export const VMALLOC_START = 0xc90000000000;
/** Size of vmalloc space: 32 TiB. */
export const VMALLOC_SIZE = 32 * 2 ** 40;
/** First address above user space. */
export const TASK_SIZE = 0x7ffffffff000;
/** No frame: the value an allocator returns for "out of memory". */
export const NO_PFN = -1 as Pfn;

/** Brands a number as a PFN without checking it (hot paths). */
export const asPfn = (n: number): Pfn => n as Pfn;
/** Brands a number as an order without checking it (hot paths). */
export const asOrder = (n: number): Order => n as Order;
/** Brands a number as an address without checking it (hot paths). */
export const asAddr = (n: number): Addr => n as Addr;

/** True when `n` is a valid buddy order (an integer in 0..MAX_PAGE_ORDER). */
export function isOrder(n: number): n is Order {
  return Number.isInteger(n) && n >= 0 && n <= MAX_PAGE_ORDER;
}

/** Physical address of the first byte of frame `pfn`. */
export const pfnToPhys = (pfn: Pfn): Addr => (pfn * PAGE_SIZE) as Addr;
/** Frame that holds physical address `phys`. */
export const physToPfn = (phys: Addr): Pfn => Math.floor(phys / PAGE_SIZE) as Pfn;
/** Direct-map kernel virtual address of frame `pfn` (`page_address`). */
export const pfnToVirt = (pfn: Pfn): Addr => (PAGE_OFFSET + pfn * PAGE_SIZE) as Addr;
/** Frame behind a direct-map kernel virtual address (`virt_to_pfn`). */
export const virtToPfn = (virt: Addr): Pfn => Math.floor((virt - PAGE_OFFSET) / PAGE_SIZE) as Pfn;
/** Physical address behind a direct-map kernel virtual address (`__pa`). */
export const virtToPhys = (virt: Addr): Addr => (virt - PAGE_OFFSET) as Addr;
/** Direct-map kernel virtual address of a physical address (`__va`). */
export const physToVirt = (phys: Addr): Addr => (phys + PAGE_OFFSET) as Addr;
/** Smallest order whose block holds `bytes` (`get_order`); `bytes` > 0. */
export function getOrder(bytes: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < bytes) order++;
  return order;
}

/** Parses a size such as `1G`, `512M`, `64GiB`, `4096` (bytes) into bytes; NaN when malformed. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$/.exec(text);
  if (!m) return Number.NaN;
  const scale: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
  return Math.round(Number(m[1]) * (scale[(m[2] ?? '').toLowerCase()] ?? Number.NaN));
}

/** Formats a byte count the way people read memory sizes: `1 GiB`, `64 MiB`, `12 KiB`, `100 B`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = bytes;
  while (u < units.length - 1 && v >= 1024 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  return `${v} ${units[u]}`;
}

/** A kernel pointer as `%px` prints it: `0x` and 16 digits, `ffff` sign extension included. */
export const kptr = (addr: number): string => `0x${formatKernelAddr(addr)}`;

/** Hex with `0x` and no sign extension. */
export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Rounds `n` up to a multiple of `a` (the kernel's `ALIGN`; any positive `a`). */
export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
/**
 * `n % m` for an integer `0 ≤ n < 2^53` and a power of two `m`, computed
 * with a division and a floor: V8 evaluates `%` on a number beyond 31 bits
 * (every kernel address, every PTE) as a floating-point remainder, several
 * times slower.
 */
export const modPow2 = (n: number, m: number): number => n - Math.floor(n / m) * m;
/** Rounds `n` down to a multiple of `a` (`ALIGN_DOWN`). */
export const alignDown = (n: number, a: number): number => Math.floor(n / a) * a;
/** `PAGE_ALIGN`: rounds up to a whole page. */
export const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
/** `is_power_of_2` (0 is not). */
export const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** `vmemmap_base` (KASLR off) without its sign extension: `struct page *` values are `VMEMMAP_START + pfn × STRUCT_PAGE_SIZE`. */
export const VMEMMAP_START = 0xea0000000000;
/** Linux's `sizeof(struct page)` on x86_64 (64 bytes; the simulator's own struct page is smaller). */
export const STRUCT_PAGE_SIZE = 64;

/**
 * Prints a kernel virtual address as the kernel does with `%px`: 16 hex
 * digits with the `ffff` sign extension for addresses in the upper half.
 */
export function formatKernelAddr(addr: number): string {
  if (addr >= 0x800000000000 && addr < 2 ** 48) return `ffff${addr.toString(16).padStart(12, '0')}`;
  return addr.toString(16).padStart(16, '0');
}

/**
 * The contracts of the kernel's bug detectors that allocators call into:
 * KASAN (generic mode: a shadow byte per 8-byte granule, checked client
 * accesses, a quarantine of freed objects) and kmemleak (object tracking and
 * a reachability scan). Each is bound only when enabled in the config;
 * allocators inject them `@optional()` and call the hooks where Linux calls
 * its `kasan_*` / `kmemleak_*` hooks.
 */

/** What KASAN knows about a slab object, for reports. */
export interface KasanObjectInfo {
  readonly start: number;
  /** Bytes the client asked for (the allocated region). */
  readonly size: number;
  /** Cache name (empty for a large kmalloc). */
  readonly cache: string;
  /** Object size of the cache. */
  readonly cacheSize: number;
  /** Allocation track (`%pS` of the caller). */
  readonly allocTrack?: string;
  /** Free track. */
  readonly freeTrack?: string;
}

/** Generic KASAN: the allocator hooks and the checked client accesses. */
export interface KasanApi {
  /** Bytes of freed objects that wait in quarantine before reuse. */
  readonly quarantineBytes: number;
  /** Bytes client accesses checked so far. */
  readonly checkedBytes: number;
  /** Shadow value of the granule holding `addr` (0 accessible, 1…7 partly, negative a poison code). */
  shadowOf(addr: number): number;
  /** Pages handed out by the page allocator: accessible (`kasan_unpoison_pages`). */
  onPagesAlloc(pfn: number, n: number): void;
  /** Pages returned to the page allocator: free (`kasan_poison_pages`). */
  onPagesFree(pfn: number, n: number): void;
  /** A new slab: every byte red zone until objects are handed out (`kasan_poison_slab`). */
  onNewSlab(pfn: number, n: number): void;
  /** An object handed out: accessible up to `size`, red zone up to the object size. */
  onObjectAlloc(info: KasanObjectInfo): void;
  /** A large kmalloc: accessible up to `size`, the rest of its pages a page red zone. */
  onLargeAlloc(start: number, size: number, pages: number): void;
  /** `ksize()` was asked of an object. */
  onKsize(start: number, usable: number): void;
  /**
   * An object being freed: poisons it, reports a double or invalid free and
   * queues `release` (the real free) in the quarantine. Returns false when the
   * free must not go ahead.
   */
  onObjectFree(addr: number, release: () => void, op: string): boolean;
  /** Frees everything in quarantine (`kasan_quarantine_reduce`, cache shutdown). */
  drainQuarantine(): void;
  /** Checks a client access; reports the first bad byte and returns false. */
  check(addr: number, len: number, write: boolean, op: string): boolean;
  /** Checked read of `len` bytes at a kernel address (undefined when reported). */
  read(addr: number, len: number): Uint8Array | undefined;
  /** Checked write. */
  write(addr: number, data: Uint8Array): boolean;
  /** Checked memset. */
  memset(addr: number, byte: number, len: number): boolean;
  /** Checked memcpy. */
  memcpy(dst: number, src: number, len: number): boolean;
}

/** A suspected leak kmemleak reports. */
export interface Leak {
  readonly addr: number;
  readonly size: number;
  /** Allocation track. */
  readonly caller: string;
}

/** kmemleak: object tracking, roots and the scan. */
export interface KmemleakApi {
  /** An object was allocated (`kmemleak_alloc`). */
  onAlloc(addr: number, size: number): void;
  /** An object was freed (`kmemleak_free`). */
  onFree(addr: number): void;
  /** Registers memory that is always scanned and never reported (data sections, device structs). */
  addRoot(addr: number, len: number): void;
  /** Removes a root. */
  removeRoot(addr: number): void;
  /** Objects tracked now. */
  readonly tracked: number;
  /** Scans from the roots; reports every unreferenced object and returns them. */
  scan(): Leak[];
}

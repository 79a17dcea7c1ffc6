/**
 * The dev_kmalloc contract: device-managed kmalloc with a 64-byte header
 * before every returned pointer (x86_64 natural layout), kept on its
 * device's list in simulated memory and released with the device (devres).
 */

import type { Gfp } from './gfp.js';
import type { InvariantChecked } from './invariants.js';

/** Bytes of the header before each dev_kmalloc pointer. */
export const DEV_HEADER_SIZE = 64;
/** `magic` value of a live header. */
export const DEV_MAGIC = 0xdeadbeef;
/** Header field offsets (x86_64 natural alignment). */
export const DevHeader = {
  MAGIC: 0,
  SIZE: 8,
  FLAGS: 16,
  OWNER: 24,
  NEXT: 32,
  PREV: 40,
  TIMESTAMP: 48,
  CALLER: 56,
} as const;
/** Bytes of the simulated `struct device` (list head at 0 and 8, id at 16). */
export const DEVICE_STRUCT_SIZE = 64;

/** A registered device. */
export type DeviceHandle = number;

/** One live allocation, as the per-device listing shows it. */
export interface DevAllocation {
  /** The pointer dev_kmalloc returned. */
  readonly ptr: number;
  readonly size: number;
  readonly gfp: Gfp;
  /** `sym+0x0/0x0` of the caller. */
  readonly caller: string;
  /** Logical ns since the allocation. */
  readonly ageNs: number;
}

/** What `device_release` freed. */
export interface DeviceReleaseReport {
  readonly device: string;
  readonly allocations: readonly DevAllocation[];
  readonly bytes: number;
}

/** Device-managed kmalloc. */
export interface DevKmallocApi extends InvariantChecked {
  /** Registers a device (its `struct device` is allocated in kernel memory). @throws AllocatorError `config` for an empty or duplicate name */
  registerDevice(name: string): DeviceHandle;
  /** `devm_kmalloc`: returns header + 64, or 0 when out of memory. @throws AllocatorError `unknown-name` for an unknown device */
  devKmalloc(dev: DeviceHandle, size: number, gfp: Gfp): number;
  /** `devm_kzalloc`: devKmalloc, zeroed. */
  devKzalloc(dev: DeviceHandle, size: number, gfp: Gfp): number;
  /** `devm_krealloc`: contents kept up to min(old, new); the allocation stays on its device. */
  devKrealloc(ptr: number, size: number, gfp: Gfp): number;
  /** `devm_kfree`: steps back to the header, checks it, unlinks it, clears the magic, frees header and data. @throws AllocatorError on a bad pointer or a corrupted header */
  devKfree(ptr: number): void;
  /** Frees every allocation still on the device and unregisters it (devres release). */
  deviceRelease(dev: DeviceHandle): DeviceReleaseReport;
  /** The device's live allocations, read from its list in simulated memory. */
  allocations(dev: DeviceHandle): DevAllocation[];
  /** Registered devices. */
  devices(): { handle: DeviceHandle; name: string; live: number }[];
}

/** Fuzz commands on dev_kmalloc: register a device, allocate on it, krealloc, release the device. */

import type { Command } from 'fast-check';
import { GFP_KERNEL, __GFP_NOWARN } from '../../src/interfaces/gfp.js';
import { FuzzFailure } from '../common.js';
import { PICK, int, spec } from '../schema.js';
import { DEV_OBJECT, checkAll, checkPattern, hold, reallocHeld, type SlabModel, type SlabReal } from './model.js';

/** Registers a device. */
export class RegisterDeviceCommand implements Command<SlabModel, SlabReal> {
  check(m: SlabModel): boolean {
    return m.devices.length < 4;
  }
  run(m: SlabModel, r: SlabReal): void {
    m.devices.push(r.sys.dev.registerDevice(`fzdev${m.stamp++}`));
    checkAll(r);
  }
  toString(): string {
    return 'device_register()';
  }
  toJSON(): object {
    return { op: 'dev_register' };
  }
}

/** dev_kmalloc on a device. */
export class DevAllocCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number, readonly size: number) {}
  check(m: SlabModel): boolean {
    return m.devices.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    const dev = m.devices[this.pick % m.devices.length]!;
    const p = r.sys.dev.devKmalloc(dev, this.size, GFP_KERNEL | __GFP_NOWARN);
    if (p !== 0) hold(m, r, p, this.size, DEV_OBJECT, dev);
    checkAll(r);
  }
  toString(): string {
    return `dev_kmalloc(dev#${this.pick}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'dev_alloc', pick: this.pick, size: this.size };
  }
}

/** dev_krealloc of a held dev object: contents kept (K5 for the wrapper). */
export class DevKreallocCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number, readonly size: number) {}
  check(m: SlabModel): boolean {
    return m.held.some((o) => o.cache === DEV_OBJECT);
  }
  run(m: SlabModel, r: SlabReal): void {
    reallocHeld(m, r, DEV_OBJECT, this.pick, this.size, 'dev_krealloc', (a, n) => r.sys.dev.devKrealloc(a, n, GFP_KERNEL | __GFP_NOWARN));
  }
  toString(): string {
    return `dev_krealloc(#${this.pick}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'dev_krealloc', pick: this.pick, size: this.size };
  }
}

/** device_release: everything still on the device is freed. */
export class DeviceReleaseCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number) {}
  check(m: SlabModel): boolean {
    return m.devices.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    const dev = m.devices[this.pick % m.devices.length]!;
    const mine = m.held.filter((o) => o.cache === DEV_OBJECT && o.device === dev);
    for (const o of mine) checkPattern(r, o);
    const rep = r.sys.dev.deviceRelease(dev);
    if (rep.allocations.length !== mine.length) {
      throw new FuzzFailure([{ code: 'D3', message: `device_release freed ${rep.allocations.length} allocations but the device held ${mine.length}` }]);
    }
    m.held = m.held.filter((o) => !(o.cache === DEV_OBJECT && o.device === dev));
    m.devices = m.devices.filter((d) => d !== dev);
    checkAll(r);
  }
  toString(): string {
    return `device_release(dev#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'dev_release', pick: this.pick };
  }
}

/** Largest dev_kmalloc request. */
export const DEV_ALLOC_MAX = 5000;
/** Largest dev_krealloc target. */
export const DEV_KREALLOC_MAX = 3000;

/** Stored forms of the dev_kmalloc commands. */
export const DEV_SPECS = [
  spec('dev_register', {}, () => new RegisterDeviceCommand()),
  spec('dev_alloc', { pick: PICK, size: int(0, DEV_ALLOC_MAX) }, (v) => new DevAllocCommand(v.pick, v.size)),
  spec('dev_krealloc', { pick: PICK, size: int(1, DEV_KREALLOC_MAX) }, (v) => new DevKreallocCommand(v.pick, v.size)),
  spec('dev_release', { pick: PICK }, (v) => new DeviceReleaseCommand(v.pick)),
];

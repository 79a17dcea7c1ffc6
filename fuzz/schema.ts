/**
 * The command schema of reproducer files: each command class states its
 * `op` and its fields with the ranges in which the command is meaningful
 * (its generator draws inside them; a test checks that every generated
 * command parses back), and a stored list is validated against it before
 * anything runs. An out-of-range, missing or unknown field, or an unknown op, is bad
 * input (`AllocatorError` of kind `parse`, naming the command index and the
 * field), never a finding of the allocator under test.
 */

import { AllocatorError } from '../src/interfaces/errors.js';

/** An integer field and its inclusive range. */
export interface IntField {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
}

/** A boolean field. */
export interface BoolField {
  readonly kind: 'bool';
}

/** One field of a stored command. */
export type FieldSpec = IntField | BoolField;

/** An integer field in `min..max`. */
export function int(min: number, max: number): IntField {
  return { kind: 'int', min, max };
}

/** Any index a generator draws with `fc.nat()` (a pick taken modulo the count, so it survives shrinking). */
export const PICK = int(0, 0x7fffffff);

/** A boolean field. */
export const BOOL: BoolField = { kind: 'bool' };

/** The values of a command's fields, typed from its specs. */
export type FieldValues<F extends Readonly<Record<string, FieldSpec>>> = { readonly [K in keyof F]: F[K] extends BoolField ? boolean : number };

/** How one `op` is stored and rebuilt. */
export interface CommandSpec<C> {
  readonly op: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** Builds the command from validated values. */
  build(values: Readonly<Record<string, number | boolean>>): C;
}

/** The spec of one op: its fields and how to build the command from them. */
export function spec<F extends Readonly<Record<string, FieldSpec>>, C>(op: string, fields: F, build: (v: FieldValues<F>) => C): CommandSpec<C> {
  return { op, fields, build: (v) => build(v as FieldValues<F>) };
}

function describeValue(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

/**
 * Returns a parser of stored commands for one layer: `parse(o, index)`
 * rebuilds the command or throws `AllocatorError('parse', 'command #3
 * (alloc): order 99 is outside 0..10')`.
 */
export function commandParser<C>(layer: string, specs: readonly CommandSpec<C>[]): (o: unknown, index: number) => C {
  const byOp = new Map(specs.map((s) => [s.op, s]));
  const ops = specs.map((s) => s.op).join(', ');
  return (o, index) => {
    const at = `command #${index}`;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new AllocatorError('parse', `${at}: expected an object such as {"op": "${specs[0]?.op}", …}, got ${describeValue(o)}`);
    const r = o as Record<string, unknown>;
    const s = typeof r['op'] === 'string' ? byOp.get(r['op']) : undefined;
    if (!s) throw new AllocatorError('parse', `${at}: unknown op ${describeValue(r['op'])} (${layer} ops: ${ops})`);
    const here = `${at} (${s.op})`;
    const values: Record<string, number | boolean> = {};
    for (const [name, f] of Object.entries(s.fields)) {
      const v = r[name];
      if (v === undefined) throw new AllocatorError('parse', `${here}: missing field '${name}'`);
      if (f.kind === 'bool') {
        if (typeof v !== 'boolean') throw new AllocatorError('parse', `${here}: ${name} must be true or false, got ${describeValue(v)}`);
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new AllocatorError('parse', `${here}: ${name} must be an integer, got ${describeValue(v)}`);
        if (v < f.min || v > f.max) throw new AllocatorError('parse', `${here}: ${name} ${v} is outside ${f.min}..${f.max}`);
      }
      values[name] = v;
    }
    for (const name of Object.keys(r)) if (name !== 'op' && !(name in s.fields)) throw new AllocatorError('parse', `${here}: unknown field '${name}'`);
    return s.build(values);
  };
}

/** Validates a per-run parameter object against its fields (reproducer `params`). @throws AllocatorError `parse` */
export function parseFields<F extends Readonly<Record<string, FieldSpec>>>(what: string, fields: F, o: unknown): FieldValues<F> {
  const parse = commandParser(what, [spec('params', fields, (v) => v)]);
  const shape = `{${Object.entries(fields)
    .map(([k, f]) => `"${k}": ${f.kind === 'bool' ? 'true|false' : `${f.min}..${f.max}`}`)
    .join(', ')}}`;
  if (o === undefined) throw new AllocatorError('parse', `missing field '${what}' (${shape})`);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new AllocatorError('parse', `${what}: expected ${shape}, got ${describeValue(o)}`);
  try {
    return parse({ ...o, op: 'params' }, 0);
  } catch (e) {
    if (e instanceof AllocatorError) throw new AllocatorError('parse', e.message.replace(/^command #0 \(params\)/, what));
    throw e;
  }
}

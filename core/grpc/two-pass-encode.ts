import protobuf from 'protobufjs';

/**
 * Encodes a message in two passes, sizes and then bytes, into one buffer: protobufjs's Writer queues an object for
 * every field it writes and forks a state for every nested message, and the coordinator's Batch requests were the
 * largest source of its garbage (about 60 MB of a 100k-candidate job's 375). The bytes are protobufjs's: fields in
 * number order, a field written when protobufjs's generated encoder writes it (present as an own property, not
 * null; a list when not empty), uint32 lists packed. Covers the field kinds of worker.proto's Batch request tree;
 * a type with any other kind (maps, enums, bytes, 64-bit or signed integers, packed lists of other than uint32)
 * gets no plan and keeps its encoder.
 * test/unit/grpc/two-pass-encode.test.ts checks the bytes against plain protobufjs's generated encoders (Batch
 * requests, a type that nests itself), test/unit/grpc/direct-encode.test.ts against proto-loader's serializer.
 */

type Kind = 'uint32' | 'bool' | 'double' | 'float' | 'string' | 'message' | 'packed';

interface FieldPlan {
  readonly name: string;
  readonly kind: Kind;
  /** the field's key (number and wire type), as a varint */
  readonly key: number;
  readonly repeated: boolean;
  /** the nested type's plan (message fields) */
  plan?: FieldPlan[];
}

type Fields = Record<string, unknown>;

const WIRE: Readonly<Record<Exclude<Kind, 'message' | 'packed'>, number>> = { uint32: 0, bool: 0, double: 1, float: 5, string: 2 };

/** The plan of `type` (its fields in number order), or null when a field is of a kind not covered here. */
export function twoPassPlan(type: protobuf.Type, seen = new Map<protobuf.Type, FieldPlan[] | null>()): FieldPlan[] | null {
  if (seen.has(type)) return seen.get(type) ?? null;
  const plan: FieldPlan[] = [];
  seen.set(type, plan); // a type that nests itself reuses the plan being built
  for (const field of type.fieldsArray.slice().sort((a, b) => a.id - b.id)) {
    field.resolve();
    const rt = field.resolvedType;
    if (field.map || field.delimited || rt instanceof protobuf.Enum) return fail(seen, type);
    const { name, id, repeated } = field;
    if (rt instanceof protobuf.Type) {
      const nested = twoPassPlan(rt, seen);
      if (!nested) return fail(seen, type);
      plan.push({ name, kind: 'message', key: ((id << 3) | 2) >>> 0, repeated, plan: nested });
    } else if (repeated && field.packed && field.type === 'uint32') {
      plan.push({ name, kind: 'packed', key: ((id << 3) | 2) >>> 0, repeated });
    } else if (Object.hasOwn(WIRE, field.type) && !(repeated && field.packed)) {
      const kind = field.type as keyof typeof WIRE;
      plan.push({ name, kind, key: ((id << 3) | WIRE[kind]) >>> 0, repeated });
    } else return fail(seen, type);
  }
  return plan;
}

function fail(seen: Map<protobuf.Type, FieldPlan[] | null>, type: protobuf.Type): null {
  seen.set(type, null);
  return null;
}

/** Bytes of a varint of v (an unsigned 32-bit value). */
export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of a packed list of uint32 values, as varints (each taken `>>> 0`, as protobufjs does). */
export function packedLength(values: readonly number[]): number {
  let len = 0;
  for (let i = 0; i < values.length; i++) len += varintLength((values[i] as number) >>> 0);
  return len;
}

/**
 * Lengths found by the sizing pass, in the order the writing pass needs them (a nested message's before its
 * fields'; each string's and each packed list's): one array reused by every message, since encoding is synchronous,
 * filled up to `found` (setting its length to 0 would give its storage back, and each message would grow it anew).
 */
let lengths: number[] = [];
let found = 0;

/**
 * The value of `f` that protobufjs's generated encoder writes, or undefined: a field present as an own property
 * and not null; a list when not empty. Both passes ask this, so they agree on what is written.
 */
function written(m: Fields, f: FieldPlan): unknown {
  const v = m[f.name];
  if (v == null) return undefined;
  if (f.repeated) return (v as readonly unknown[]).length > 0 ? v : undefined;
  return Object.hasOwn(m, f.name) ? v : undefined;
}

/** The size of m's fields; records the lengths the writing pass will read. */
function size(m: Fields, plan: readonly FieldPlan[]): number {
  let n = 0;
  // indexed loops: a for-of over the plan made an iterator for every message written
  for (let p = 0; p < plan.length; p++) {
    const f = plan[p] as FieldPlan;
    const v = written(m, f);
    if (v === undefined) continue;
    if (f.kind === 'packed') {
      const len = packedLength(v as readonly number[]);
      lengths[found++] = len;
      n += varintLength(f.key) + varintLength(len) + len;
    } else if (f.repeated) {
      const list = v as readonly unknown[];
      for (let i = 0; i < list.length; i++) n += varintLength(f.key) + valueSize(f, list[i]);
    } else n += varintLength(f.key) + valueSize(f, v);
  }
  return n;
}

function valueSize(f: FieldPlan, v: unknown): number {
  switch (f.kind) {
    case 'uint32':
      return varintLength((v as number) >>> 0);
    case 'bool':
      return 1;
    case 'double':
      return 8;
    case 'float':
      return 4;
    case 'string': {
      const len = Buffer.byteLength(v as string, 'utf8');
      lengths[found++] = len;
      return varintLength(len) + len;
    }
    default: {
      const at = found++;
      lengths[at] = 0;
      const len = size(v as Fields, f.plan as FieldPlan[]);
      lengths[at] = len;
      return varintLength(len) + len;
    }
  }
}

/** Where the writing pass is: the next byte, and the next length to read. */
interface Cursor {
  pos: number;
  at: number;
}

function varint(buf: Buffer, c: Cursor, value: number): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[c.pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[c.pos++] = v;
}

function write(m: Fields, plan: readonly FieldPlan[], buf: Buffer, c: Cursor): void {
  for (let p = 0; p < plan.length; p++) {
    const f = plan[p] as FieldPlan;
    const v = written(m, f);
    if (v === undefined) continue;
    if (f.kind === 'packed') {
      const list = v as readonly number[];
      varint(buf, c, f.key);
      varint(buf, c, lengths[c.at++] as number);
      for (let i = 0; i < list.length; i++) varint(buf, c, list[i] as number);
    } else if (f.repeated) {
      const list = v as readonly unknown[];
      for (let i = 0; i < list.length; i++) {
        varint(buf, c, f.key);
        writeValue(f, list[i], buf, c);
      }
    } else {
      varint(buf, c, f.key);
      writeValue(f, v, buf, c);
    }
  }
}

function writeValue(f: FieldPlan, v: unknown, buf: Buffer, c: Cursor): void {
  switch (f.kind) {
    case 'uint32':
      return varint(buf, c, v as number);
    case 'bool':
      buf[c.pos++] = v ? 1 : 0;
      return;
    case 'double':
      c.pos = buf.writeDoubleLE(v as number, c.pos);
      return;
    case 'float':
      c.pos = buf.writeFloatLE(v as number, c.pos);
      return;
    case 'string': {
      const len = lengths[c.at++] as number;
      varint(buf, c, len);
      c.pos += buf.write(v as string, c.pos, len, 'utf8');
      return;
    }
    default:
      varint(buf, c, lengths[c.at++] as number);
      write(v as Fields, f.plan as FieldPlan[], buf, c);
  }
}

/** Encodes `value` by `plan` (twoPassPlan) into a buffer of its own. */
export function encodeTwoPass(plan: readonly FieldPlan[], value: object): Buffer {
  found = 0;
  const total = size(value as Fields, plan);
  const buf = Buffer.allocUnsafe(total);
  const c: Cursor = { pos: 0, at: 0 };
  write(value as Fields, plan, buf, c);
  if (c.pos !== total) throw new Error(`two-pass encoding wrote ${c.pos} bytes of ${total}`);
  // a message with a very long list leaves a long array behind: let it go
  if (found > 4096) lengths = [];
  return buf;
}

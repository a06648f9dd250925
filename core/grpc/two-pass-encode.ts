import protobuf from 'protobufjs';

/**
 * Encodes a message in two passes, sizes and then bytes, into one buffer: protobufjs's Writer queues an object for
 * every field it writes and forks a state for every nested message, and the coordinator's Batch requests were the
 * largest source of its garbage (about 60 MB of a 100k-candidate job's 375). The bytes are protobufjs's: fields in
 * number order, a field written when protobufjs's generated encoder writes it (present as an own property, not
 * null; a list when not empty), uint32 lists packed. Covers the field kinds of worker.proto's Batch request tree;
 * a type with any other kind (maps, enums, bytes, 64-bit or signed integers, packed lists of other than uint32)
 * gets no plan and keeps its encoder. Each plan's two passes are generated code, as protobufjs's own encoders are:
 * a loop over the plan reading `m[name]` saw every message type at one property access, and in a 1M-candidate
 * run about a fifth of the encoder's samples were megamorphic property loads.
 * test/unit/grpc/two-pass-encode.test.ts checks the bytes against protobufjs's generated encoders.
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
 * Where an encoding is: the lengths found by the sizing pass in the order the writing pass needs them (a nested
 * message's before its fields'; each string's and each packed list's), filled up to `found`, and the writing
 * pass's next byte and next length. One object reused by every message, since encoding is synchronous: setting the
 * array's length to 0 would give its storage back, and each message would grow it anew.
 */
interface Cursor {
  lengths: number[];
  found: number;
  pos: number;
  at: number;
}

/** A plan's two passes, generated as code (compile). */
interface Passes {
  size(m: Fields, c: Cursor): number;
  write(m: Fields, buf: Buffer, c: Cursor): void;
}

const cursor: Cursor = { lengths: [], found: 0, pos: 0, at: 0 };

/** Statements that write the varint of `value` (an expression) at `pos`, taken `>>> 0` as protobufjs does. */
function varintCode(value: string): string {
  return `u = (${value}) >>> 0; while (u > 127) { buf[pos++] = (u & 127) | 128; u >>>= 7; } buf[pos++] = u;`;
}

/** Statements that write a key's bytes, known when the plan is compiled. */
function keyCode(key: number): string {
  const bytes: number[] = [];
  for (let v = key; ; v >>>= 7) {
    if (v <= 0x7f) {
      bytes.push(v);
      break;
    }
    bytes.push((v & 0x7f) | 0x80);
  }
  return bytes.map((b) => `buf[pos++] = ${b};`).join(' ');
}

/** The sizing statements of one value `v` of field f (nested messages: passes `n` of the compiled plans). */
function sizeValue(f: FieldPlan, v: string, n: number | undefined): string {
  const k = varintLength(f.key);
  switch (f.kind) {
    case 'uint32':
      return `n += ${k} + vl(${v} >>> 0);`;
    case 'bool':
      return `n += ${k + 1};`;
    case 'double':
      return `n += ${k + 8};`;
    case 'float':
      return `n += ${k + 4};`;
    case 'string':
      return `len = bl(${v}, 'utf8'); c.lengths[c.found++] = len; n += ${k} + vl(len) + len;`;
    case 'packed':
      return `len = pl(${v}); c.lengths[c.found++] = len; n += ${k} + vl(len) + len;`;
    default:
      return `at = c.found++; c.lengths[at] = 0; len = P[${n}].size(${v}, c); c.lengths[at] = len; n += ${k} + vl(len) + len;`;
  }
}

/** The writing statements of one value `v` of field f. */
function writeValue(f: FieldPlan, v: string, n: number | undefined): string {
  const key = keyCode(f.key);
  switch (f.kind) {
    case 'uint32':
      return `${key} ${varintCode(v)}`;
    case 'bool':
      return `${key} buf[pos++] = ${v} ? 1 : 0;`;
    case 'double':
      return `${key} pos = buf.writeDoubleLE(${v}, pos);`;
    case 'float':
      return `${key} pos = buf.writeFloatLE(${v}, pos);`;
    case 'string':
      return `${key} len = c.lengths[c.at++]; ${varintCode('len')} pos += buf.write(${v}, pos, len, 'utf8');`;
    case 'packed':
      return `${key} len = c.lengths[c.at++]; ${varintCode('len')} for (let i = 0; i < v.length; i++) { ${varintCode('v[i]')} }`;
    default:
      return `${key} ${varintCode('c.lengths[c.at++]')} c.pos = pos; P[${n}].write(${v}, buf, c); pos = c.pos;`;
  }
}

/**
 * The statements of one field: read once, by its name as a constant (each generated function sees one shape, where
 * a loop over the plan reading `m[name]` went megamorphic); written when protobufjs's generated encoder writes it
 * (present as an own property, not null; a list when not empty); a list's values one by one, a packed list whole.
 */
function fieldCode(f: FieldPlan, n: number | undefined, value: (f: FieldPlan, v: string, n: number | undefined) => string): string {
  const name = JSON.stringify(f.name);
  if (f.kind === 'packed') return `v = m[${name}]; if (v != null && v.length > 0) { ${value(f, 'v', n)} }`;
  if (f.repeated) return `v = m[${name}]; if (v != null && v.length > 0) for (let j = 0; j < v.length; j++) { ${value(f, 'v[j]', n)} }`;
  return `v = m[${name}]; if (v != null && own(m, ${name})) { ${value(f, 'v', n)} }`;
}

const compiled = new WeakMap<readonly FieldPlan[], Passes>();

/**
 * Generates the two passes of `plan` and of every plan nested in it, as protobufjs generates its encoders (new
 * Function). A nested message's passes are called through the table P, so a type that nests itself works.
 */
function compile(plan: readonly FieldPlan[]): Passes {
  const known = compiled.get(plan);
  if (known) return known;
  const plans: (readonly FieldPlan[])[] = [];
  const index = new Map<readonly FieldPlan[], number>();
  const visit = (p: readonly FieldPlan[]): void => {
    if (index.has(p)) return;
    index.set(p, plans.push(p) - 1);
    for (const f of p) if (f.plan) visit(f.plan);
  };
  visit(plan);
  const table: Passes[] = [];
  for (const p of plans) {
    const code = (value: typeof sizeValue): string => p.map((f) => fieldCode(f, f.plan && index.get(f.plan), value)).join('\n');
    const make = new Function(
      'P',
      'vl',
      'pl',
      'bl',
      'own',
      `return {
        size(m, c) { let n = 0, v, len, at;\n${code(sizeValue)}\nreturn n; },
        write(m, buf, c) { let pos = c.pos, v, len, u;\n${code(writeValue)}\nc.pos = pos; },
      };`,
    ) as (P: Passes[], vl: typeof varintLength, pl: typeof packedLength, bl: typeof Buffer.byteLength, own: typeof Object.hasOwn) => Passes;
    table.push(make(table, varintLength, packedLength, Buffer.byteLength, Object.hasOwn));
  }
  const passes = table[0] as Passes;
  compiled.set(plan, passes);
  return passes;
}

/** Encodes `value` by `plan` (twoPassPlan) into a buffer of its own. */
export function encodeTwoPass(plan: readonly FieldPlan[], value: object): Buffer {
  const passes = compile(plan);
  const c = cursor;
  c.found = 0;
  const total = passes.size(value as Fields, c);
  const buf = Buffer.allocUnsafe(total);
  c.pos = 0;
  c.at = 0;
  passes.write(value as Fields, buf, c);
  if (c.pos !== total) throw new Error(`two-pass encoding wrote ${c.pos} bytes of ${total}`);
  // a message with a very long list leaves a long array behind: let it go
  if (c.found > 4096) c.lengths = [];
  return buf;
}

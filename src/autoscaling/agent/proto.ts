/**
 * The Protocol Buffers wire format, as far as the externalgrpc messages need it: varints, length-delimited fields
 * (strings, bytes, messages, map entries) and the fixed-width fields a reader must be able to skip. Field numbers are
 * those of `../externalgrpc.proto`; proto3 defaults (0, '') are left out when writing, as protoc's code does.
 */

/** A decoded message: every occurrence of each field, in wire order (varints as bigint, the rest as bytes). */
export type Fields = Map<number, (bigint | Uint8Array)[]>;

const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Decodes one message; throws on truncated input or an unknown wire type. */
export function decode(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length || shift > 63n) throw new Error('malformed protobuf: truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 127) << shift;
      if (b < 128) return v;
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || i + n > buf.length) throw new Error('malformed protobuf: field runs past the end');
    return buf.subarray(i, (i += n));
  };
  while (i < buf.length) {
    const key = Number(varint());
    const type = key & 7;
    const value = type === 0 ? varint() : type === 2 ? take(Number(varint())) : type === 1 ? take(8) : type === 5 ? take(4) : undefined;
    if (value === undefined || key >>> 3 === 0) throw new Error(`malformed protobuf: wire type ${type} of field ${key >>> 3}`);
    const list = out.get(key >>> 3);
    if (list) list.push(value);
    else out.set(key >>> 3, [value]);
  }
  return out;
}

/** A string field (the last occurrence wins); '' when absent. */
export function str(m: Fields, field: number): string {
  const v = m.get(field)?.at(-1);
  return v instanceof Uint8Array ? utf8.decode(v) : '';
}

/** An int32 field (negative values travel as 64-bit two's complement); 0 when absent. */
export function int(m: Fields, field: number): number {
  const v = m.get(field)?.at(-1);
  return typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : 0;
}

/** Every occurrence of a message field, decoded (a repeated field, or the entries of a map). */
export function msgs(m: Fields, field: number): Fields[] {
  return (m.get(field) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map(decode);
}

/** The raw bytes of a length-delimited field (the last occurrence), or undefined. */
export function raw(m: Fields, field: number): Uint8Array | undefined {
  const v = m.get(field)?.at(-1);
  return v instanceof Uint8Array ? v : undefined;
}

/** A map<string, string> field. */
export function strMap(m: Fields, field: number): Record<string, string> {
  return Object.fromEntries(msgs(m, field).map((e) => [str(e, 1), str(e, 2)]));
}

// ---------------------------------------------------------------------------------------------- writing

function varintBytes(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const low = Number(x & 127n);
    x >>= 7n;
    out.push(x ? low | 128 : low);
  } while (x);
  return out;
}

const tag = (field: number, type: number): number[] => varintBytes(BigInt((field << 3) | type));

/** Concatenates encoded fields into one message body. */
export function cat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A varint field (int32, enum, bool); left out when 0. */
export function fInt(field: number, v: number | boolean): Uint8Array {
  const n = Number(v);
  return n === 0 ? EMPTY : Uint8Array.from([...tag(field, 0), ...varintBytes(BigInt(n))]);
}

/** A length-delimited field holding `bytes` (always written: a sub-message's presence matters). */
export function fBytes(field: number, bytes: Uint8Array): Uint8Array {
  return cat([Uint8Array.from([...tag(field, 2), ...varintBytes(BigInt(bytes.length))]), bytes]);
}

/** A string field; left out when ''. */
export function fStr(field: number, s: string | undefined): Uint8Array {
  return s ? fBytes(field, toUtf8.encode(s)) : EMPTY;
}

/** A message field made of the given encoded fields. */
export function fMsg(field: number, ...parts: Uint8Array[]): Uint8Array {
  return fBytes(field, cat(parts));
}

/** A map field: one entry (key 1, value 2) per key, sorted; string values, or values already encoded as messages. */
export function fMap(field: number, entries: Readonly<Record<string, string | Uint8Array>>): Uint8Array {
  return cat(
    Object.keys(entries)
      .sort()
      .map((k) => {
        const v = entries[k]!;
        return fMsg(field, fStr(1, k), typeof v === 'string' ? fStr(2, v) : fBytes(2, v));
      }),
  );
}

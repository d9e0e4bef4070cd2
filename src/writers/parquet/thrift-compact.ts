// Thrift compact protocol, write side only, for Parquet's page headers and footer. Structs are described as
// plain data (field id -> typed value) so the Parquet metadata builder reads like the parquet.thrift IDL.

/** A struct: fields in ascending id order. Absent optional fields are simply left out. */
export type TStruct = ReadonlyArray<readonly [id: number, value: TValue]>;

export type TValue =
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'i8'; readonly v: number }
  | { readonly t: 'i32'; readonly v: number }
  | { readonly t: 'i64'; readonly v: number }
  | { readonly t: 'binary'; readonly v: string | Uint8Array }
  | { readonly t: 'struct'; readonly v: TStruct }
  | { readonly t: 'list'; readonly elem: 'i32' | 'binary' | 'struct'; readonly v: readonly TValue[] };

export const bool = (v: boolean): TValue => ({ t: 'bool', v });
export const i8 = (v: number): TValue => ({ t: 'i8', v });
export const i32 = (v: number): TValue => ({ t: 'i32', v });
export const i64 = (v: number): TValue => ({ t: 'i64', v });
export const binary = (v: string | Uint8Array): TValue => ({ t: 'binary', v });
export const struct = (v: TStruct): TValue => ({ t: 'struct', v });
export const list = (elem: 'i32' | 'binary' | 'struct', v: readonly TValue[]): TValue => ({ t: 'list', elem, v });

// Compact protocol type ids.
const CT_TRUE = 1;
const CT_FALSE = 2;
const CT_BYTE = 3;
const CT_I32 = 5;
const CT_I64 = 6;
const CT_BINARY = 8;
const CT_LIST = 9;
const CT_STRUCT = 12;

const ELEM_TYPE = { i32: CT_I32, binary: CT_BINARY, struct: CT_STRUCT } as const;

class ByteSink {
  bytes: number[] = [];

  byte(b: number): void {
    this.bytes.push(b & 0xff);
  }

  /** Unsigned varint of a non-negative integer up to 2^53, without 32-bit truncation. */
  varint(n: number): void {
    while (n >= 0x80) {
      this.bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.bytes.push(n);
  }

  zigzag(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`thrift integer out of range: ${n}`);
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  raw(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!);
  }
}

function fieldType(value: TValue): number {
  switch (value.t) {
    case 'bool':
      return value.v ? CT_TRUE : CT_FALSE;
    case 'i8':
      return CT_BYTE;
    case 'i32':
      return CT_I32;
    case 'i64':
      return CT_I64;
    case 'binary':
      return CT_BINARY;
    case 'struct':
      return CT_STRUCT;
    case 'list':
      return CT_LIST;
  }
}

function writeValue(sink: ByteSink, value: TValue): void {
  switch (value.t) {
    case 'bool':
      return; // carried in the field header's type nibble
    case 'i8':
      sink.byte(value.v);
      return;
    case 'i32':
    case 'i64':
      sink.zigzag(value.v);
      return;
    case 'binary': {
      const b = typeof value.v === 'string' ? Buffer.from(value.v, 'utf8') : value.v;
      sink.varint(b.length);
      sink.raw(b);
      return;
    }
    case 'struct':
      writeStruct(sink, value.v);
      return;
    case 'list': {
      const n = value.v.length;
      const et = ELEM_TYPE[value.elem];
      if (n < 15) sink.byte((n << 4) | et);
      else {
        sink.byte(0xf0 | et);
        sink.varint(n);
      }
      for (const item of value.v) writeValue(sink, item);
      return;
    }
  }
}

function writeStruct(sink: ByteSink, fields: TStruct): void {
  let last = 0;
  for (const [id, value] of fields) {
    if (id <= last) throw new Error(`thrift struct fields must ascend: ${id} after ${last}`);
    const delta = id - last;
    const type = fieldType(value);
    if (delta <= 15) sink.byte((delta << 4) | type);
    else {
      sink.byte(type);
      sink.zigzag(id);
    }
    writeValue(sink, value);
    last = id;
  }
  sink.byte(0); // STOP
}

export function encodeStruct(fields: TStruct): Buffer {
  const sink = new ByteSink();
  writeStruct(sink, fields);
  return Buffer.from(sink.bytes);
}

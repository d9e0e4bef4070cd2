// A plain Snappy block decoder written from the format description, used only to check our encoder: it shares
// no code with src/writers/snappy.ts and rejects anything outside the format (bad offsets, wrong lengths).

export function snappyUncompress(input: Uint8Array): Buffer {
  let p = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    const b = input[p++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = Buffer.alloc(length);
  let o = 0;
  while (p < input.length) {
    const tag = input[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let i = 0; i < bytes; i++) n += input[p++]! * 2 ** (8 * i);
      }
      n += 1;
      if (p + n > input.length || o + n > length) throw new Error('literal overruns');
      out.set(input.subarray(p, p + n), o);
      p += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[p++]!;
    } else if (kind === 2) {
      n = (tag >>> 2) + 1;
      offset = input[p]! | (input[p + 1]! << 8);
      p += 2;
    } else {
      n = (tag >>> 2) + 1;
      offset = (input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16) | (input[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (offset === 0 || offset > o || o + n > length) throw new Error(`bad copy at ${p}: offset ${offset}, length ${n}`);
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new Error(`decoded ${o} bytes, header said ${length}`);
  return out;
}

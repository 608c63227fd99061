// ByteWriter: an append-only byte buffer that grows by doubling. Length fields are reserved first and
// filled in when their content is written (`reserve16` / `fill16`), so nothing is encoded twice.

export class ByteWriter {
  bytes: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    let cap = Math.max(64, this.bytes.length * 2);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserves a 1-octet length field; returns its position for `fill8`. */
  reserve8(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Reserves a 2-octet length field; returns its position for `fill16`. */
  reserve16(): number {
    this.ensure(2);
    const at = this.pos;
    this.pos += 2;
    return at;
  }

  /** Writes the number of bytes written since the field at `at` (excluding the field itself). */
  fill8(at: number): void {
    this.bytes[at] = this.pos - at - 1;
  }

  fill16(at: number): void {
    this.view.setUint16(at, this.pos - at - 2);
  }

  /** A copy of what has been written since `from`. */
  slice(from = 0): Uint8Array {
    return this.bytes.slice(from, this.pos);
  }
}

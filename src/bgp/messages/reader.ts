// ByteReader: a bounds-checked cursor over a Uint8Array. `sub(n)` returns a reader over the next n
// bytes of the same buffer (a view, never a copy), so offsets stay those of the whole message and an
// error can say where it happened. Reading past `end` throws the BgpError its owner chose.

import type { BgpError, OverrunError } from './errors.js';

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos: number;
  end: number;
  readonly overrun: OverrunError;

  constructor(bytes: Uint8Array, overrun: OverrunError, start = 0, end = bytes.length, view?: DataView) {
    this.bytes = bytes;
    this.view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
    this.overrun = overrun;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are there; `what` names the field for the error. */
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
  }

  fail(detail: string, at: number = this.pos): BgpError {
    return this.overrun(detail, at);
  }

  u8(what = 'field'): number {
    if (this.pos + 1 > this.end) throw this.fail(`${what}: truncated`);
    return this.bytes[this.pos++]!;
  }

  u16(what = 'field'): number {
    if (this.pos + 2 > this.end) throw this.fail(`${what}: truncated`);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'field'): number {
    if (this.pos + 4 > this.end) throw this.fail(`${what}: truncated`);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = 'field'): bigint {
    if (this.pos + 8 > this.end) throw this.fail(`${what}: truncated`);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A view of the next n bytes (valid while the underlying buffer is). */
  view8(n: number, what = 'field'): Uint8Array {
    if (n < 0 || this.pos + n > this.end)
      throw this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A copy of the next n bytes, for what outlives the message. */
  copy(n: number, what = 'field'): Uint8Array {
    return this.view8(n, what).slice();
  }

  /** A reader over the next n bytes; this reader moves past them. */
  sub(n: number, what = 'field', overrun: OverrunError = this.overrun): ByteReader {
    if (n < 0 || this.pos + n > this.end)
      throw this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    const r = new ByteReader(this.bytes, overrun, this.pos, this.pos + n, this.view);
    this.pos += n;
    return r;
  }

  skip(n: number, what = 'field'): void {
    if (n < 0 || this.pos + n > this.end)
      throw this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    this.pos += n;
  }
}

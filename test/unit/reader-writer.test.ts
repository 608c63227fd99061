import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BgpError, MessageHeaderError, UpdateMessageError } from '../../src/bgp/messages/errors.js';
import { ByteReader } from '../../src/bgp/messages/reader.js';
import { ByteWriter } from '../../src/bgp/messages/writer.js';
import { hex, toHex } from '../helpers/bytes.js';
import { thrownBgpError } from '../helpers/stream.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An overrun factory that records what it was asked to make. */
function recordingOverrun(): {
  overrun: (detail: string, offset: number) => BgpError;
  made: { detail: string; offset: number; error: BgpError }[];
} {
  const made: { detail: string; offset: number; error: BgpError }[] = [];
  return {
    made,
    overrun: (detail, offset) => {
      const error = new UpdateMessageError(1, detail, undefined, offset);
      made.push({ detail, offset, error });
      return error;
    },
  };
}

const headerOverrun = (detail: string, offset: number): BgpError =>
  new MessageHeaderError(2, detail, undefined, offset);

describe('ByteReader', () => {
  it('reads big-endian integers and advances', () => {
    const r = new ByteReader(hex('01 0203 04050607 08090a0b0c0d0e0f ff'), headerOverrun);
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0203);
    expect(r.u32()).toBe(0x04050607);
    expect(r.u64()).toBe(0x08090a0b0c0d0e0fn);
    expect(r.pos).toBe(15);
    expect(r.remaining).toBe(1);
    expect(r.u8()).toBe(0xff);
    expect(r.remaining).toBe(0);
  });

  it('reads unsigned values with the high bit set', () => {
    const r = new ByteReader(hex('ffff ffffffff ffffffffffffffff'), headerOverrun);
    expect(r.u16()).toBe(0xffff);
    expect(r.u32()).toBe(0xffffffff);
    expect(r.u64()).toBe(0xffffffffffffffffn);
  });

  it('honours the byteOffset of a Uint8Array that is a view into a larger buffer', () => {
    const backing = hex('aaaaaa 1234 56789abc');
    const r = new ByteReader(backing.subarray(3), headerOverrun);
    expect(r.u16()).toBe(0x1234);
    expect(r.u32()).toBe(0x56789abc);
  });

  const reads: [string, (r: ByteReader) => unknown, number][] = [
    ['u8', (r) => r.u8('flags'), 1],
    ['u16', (r) => r.u16('flags'), 2],
    ['u32', (r) => r.u32('flags'), 4],
    ['u64', (r) => r.u64('flags'), 8],
    ['view8', (r) => r.view8(9, 'flags'), 9],
    ['copy', (r) => r.copy(9, 'flags'), 9],
    ['sub', (r) => r.sub(9, 'flags'), 9],
    ['skip', (r) => r.skip(9, 'flags'), 9],
    ['need', (r) => r.need(9, 'flags'), 9],
  ];
  for (const [name, read, size] of reads) {
    it(`${name} throws the reader's own overrun error, at the absolute offset, when it would pass end`, () => {
      // 20 bytes of buffer, but the reader may only read [10, 10 + size - 1)
      const { overrun, made } = recordingOverrun();
      const r = new ByteReader(new Uint8Array(20), overrun, 10, 10 + size - 1);
      const err = thrownBgpError(() => read(r));
      expect(made).toHaveLength(1);
      expect(err).toBe(made[0]!.error);
      expect(err).toBeInstanceOf(UpdateMessageError);
      expect(err.offset).toBe(10);
      expect(made[0]!.detail).toContain('flags');
      expect(r.pos).toBe(10);
      // exactly enough is fine
      const ok = new ByteReader(new Uint8Array(20), overrun, 10, 10 + size);
      read(ok);
      expect(made).toHaveLength(1);
    });
  }

  it('rejects negative lengths', () => {
    const r = new ByteReader(new Uint8Array(8), headerOverrun, 4);
    for (const f of [() => r.view8(-1), () => r.sub(-1), () => r.skip(-1), () => r.copy(-2)]) {
      expect(thrownBgpError(f)).toBeInstanceOf(MessageHeaderError);
    }
    expect(r.pos).toBe(4);
  });

  it('returns views from view8 and copies from copy', () => {
    const bytes = hex('00 0102 0304');
    const r = new ByteReader(bytes, headerOverrun, 1);
    const v = r.view8(2);
    const c = r.copy(2);
    expect(v.buffer).toBe(bytes.buffer);
    expect(v.byteOffset).toBe(1);
    expect(c.buffer).not.toBe(bytes.buffer);
    bytes.fill(0xee);
    expect(toHex(v)).toBe('eeee');
    expect(toHex(c)).toBe('0304');
  });

  it('sub() is a view over the same bytes with absolute offsets, and the parent moves past it', () => {
    const bytes = hex('00 00 00 0a 0b 0c 0d 0e 00');
    const r = new ByteReader(bytes, headerOverrun, 1);
    r.skip(2);
    const s = r.sub(5, 'attribute');
    expect(r.pos).toBe(8);
    expect(s.bytes).toBe(bytes);
    expect(s.view).toBe(r.view);
    expect([s.pos, s.end, s.remaining]).toEqual([3, 8, 5]);
    expect(s.u8()).toBe(0x0a);
    expect(s.u32()).toBe(0x0b0c0d0e);
    expect(s.pos).toBe(8);
    // reading past the sub-reader's end fails even though the parent has more bytes
    const err = thrownBgpError(() => s.u8('value'));
    expect(err).toBeInstanceOf(MessageHeaderError);
    expect(err.offset).toBe(8);
    expect(r.u8()).toBe(0);
  });

  it('sub() takes the parent overrun unless given another, and nested subs keep absolute offsets', () => {
    const { overrun, made } = recordingOverrun();
    const bytes = new Uint8Array(32);
    bytes[20] = 0x42;
    const r = new ByteReader(bytes, headerOverrun, 4);
    const s = r.sub(20, 'path attributes', overrun);
    s.skip(10);
    const inner = s.sub(6);
    inner.skip(2);
    expect(inner.pos).toBe(16);
    expect(inner.overrun).toBe(overrun);
    const err = thrownBgpError(() => inner.u64('community'));
    expect(err).toBe(made[0]!.error);
    expect(made[0]!.offset).toBe(16);
    expect(s.u8()).toBe(0x42);
    expect(s.pos).toBe(21);
    expect(thrownBgpError(() => r.sub(9))).toBeInstanceOf(MessageHeaderError);
    // a sub-reader reads the parent's bytes, not a copy
    const t = new ByteReader(bytes, headerOverrun, 20).sub(1);
    bytes[20] = 0x43;
    expect(t.u8()).toBe(0x43);
  });

  it('fail() makes (does not throw) an error at the current or a given offset', () => {
    const r = new ByteReader(new Uint8Array(4), headerOverrun, 3);
    const here = r.fail('bad');
    expect(here).toBeInstanceOf(MessageHeaderError);
    expect(here.offset).toBe(3);
    expect(r.fail('bad', 1).offset).toBe(1);
  });
});

describe('ByteWriter', () => {
  it('writes big-endian integers and raw bytes', () => {
    const w = new ByteWriter(64);
    w.u8(0xab);
    w.u16(0x1234);
    w.u32(0xdeadbeef);
    w.u32(-1);
    w.u64(0x0102030405060708n);
    w.raw(hex('cafe'));
    expect(w.pos).toBe(1 + 2 + 4 + 4 + 8 + 2);
    expect(toHex(w.slice())).toBe('ab1234deadbeefffffffff0102030405060708cafe');
  });

  it('grows beyond its initial capacity, keeping what was written', () => {
    const w = new ByteWriter(2);
    const expected: number[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) {
        w.u32(i);
        expected.push(0, 0, i >> 8, i & 255);
      } else {
        w.u8(i & 255);
        expected.push(i & 255);
      }
    }
    w.raw(new Uint8Array(5000).fill(7));
    for (let i = 0; i < 5000; i++) expected.push(7);
    expect(w.pos).toBe(expected.length);
    expect(w.bytes.length).toBeGreaterThanOrEqual(expected.length);
    expect(Array.from(w.slice())).toEqual(expected);
    // the DataView follows the new buffer
    expect(w.view.buffer).toBe(w.bytes.buffer);
  });

  it('ensure() makes room for a large write at once', () => {
    const w = new ByteWriter(4);
    w.ensure(100);
    expect(w.bytes.length).toBeGreaterThanOrEqual(100);
    expect(w.pos).toBe(0);
  });

  it('grows from a capacity of 0', () => {
    // Run in a child process: ByteWriter.ensure doubling from 0 would never end.
    const code = [
      "import { ByteWriter } from './src/bgp/messages/writer.js';",
      'const w = new ByteWriter(0);',
      'w.u8(1);',
      'w.u16(0x0203);',
      "process.stdout.write(Buffer.from(w.slice()).toString('hex'));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.signal, 'the child was killed: ByteWriter(0) never finished growing').toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('010203');
  });

  it('reserves and fills 2-octet and 1-octet length fields, nested', () => {
    const w = new ByteWriter(4);
    w.u8(0x99);
    const outer = w.reserve16();
    expect(outer).toBe(1);
    w.u8(0x40);
    const inner = w.reserve8();
    expect(inner).toBe(4);
    w.raw(hex('0102030405'));
    w.fill8(inner);
    w.u16(0xbeef);
    w.fill16(outer);
    expect(toHex(w.slice())).toBe('99' + '0009' + '40' + '05' + '0102030405' + 'beef');
  });

  it('fills a length field reserved before the buffer grew', () => {
    const w = new ByteWriter(4);
    const at = w.reserve16();
    w.raw(new Uint8Array(3000).fill(1));
    w.fill16(at);
    const out = w.slice();
    expect(out.length).toBe(3002);
    expect((out[0]! << 8) | out[1]!).toBe(3000);
    const at8 = w.reserve8();
    w.raw(new Uint8Array(200));
    w.fill8(at8);
    expect(w.bytes[at8]).toBe(200);
  });

  it('fills empty length fields with 0', () => {
    const w = new ByteWriter(8);
    const a = w.reserve16();
    w.fill16(a);
    const b = w.reserve8();
    w.fill8(b);
    expect(toHex(w.slice())).toBe('000000');
  });

  it('slice() copies what was written since `from`', () => {
    const w = new ByteWriter(8);
    w.raw(hex('010203'));
    const all = w.slice();
    const tail = w.slice(1);
    expect(toHex(all)).toBe('010203');
    expect(toHex(tail)).toBe('0203');
    expect(all.buffer).not.toBe(w.bytes.buffer);
    w.pos = 0;
    w.raw(hex('ffffff'));
    expect(toHex(all)).toBe('010203');
    expect(toHex(w.slice(3))).toBe('');
  });

  it('round-trips random integers through ByteReader', () => {
    const w = new ByteWriter(1);
    const values: [number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const size = [1, 2, 4][i % 3]!;
      const v = (i * 2654435761) % 2 ** (size * 8);
      values.push([size, v]);
      if (size === 1) w.u8(v);
      else if (size === 2) w.u16(v);
      else w.u32(v);
    }
    const r = new ByteReader(w.slice(), headerOverrun);
    for (const [size, v] of values) expect(size === 1 ? r.u8() : size === 2 ? r.u16() : r.u32()).toBe(v);
    expect(r.remaining).toBe(0);
  });
});

// RFC 4271 4.3 and 5.1.2: AS_PATH, well-known mandatory; RFC 6793: AS4_PATH, optional transitive.
//
//  segment: | type (1) | count (1) | count AS numbers, 2 or 4 octets each |
//  types: 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET (RFC 5065)
//
// AS numbers are 4 octets when both sides speak 4-octet AS, else 2 octets; then a path holding an AS
// that does not fit is sent with AS_TRANS (23456) in its place plus an AS4_PATH holding the real ones
// (RFC 6793 4.2.2), and a received AS4_PATH is merged back (4.2.3, `mergeAs4Path`).
// RFC 7606 7.2: a malformed AS_PATH (unknown segment type, zero count, overrun): treat-as-withdraw.
// RFC 6793 6 / RFC 7606 7.17: a malformed AS4_PATH, or one with confederation segments: discard it;
// between two 4-octet speakers AS4_PATH must not appear and is discarded too.

import { AS_TRANS, AsPathSegmentType, AttrFlag, AttrType, UpdateMessageSubcode } from '../iana.js';
import type { ByteReader } from '../reader.js';
import type { ByteWriter } from '../writer.js';
import { malformed } from './common.js';
import type { AsPathSegment, AttrEntry, PathAttributes } from './types.js';

const MAX_SEGMENT = 255;

function decodeSegments(r: ByteReader, asSize: 2 | 4, name: string): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    if (r.remaining < 2)
      throw malformed(UpdateMessageSubcode.MALFORMED_AS_PATH, `${name}: truncated segment header`, at);
    const type = r.u8();
    const count = r.u8();
    if (type < AsPathSegmentType.AS_SET || type > AsPathSegmentType.AS_CONFED_SET) {
      throw malformed(UpdateMessageSubcode.MALFORMED_AS_PATH, `${name}: unknown segment type ${type}`, at);
    }
    if (count === 0) throw malformed(UpdateMessageSubcode.MALFORMED_AS_PATH, `${name}: empty segment`, at);
    if (r.remaining < count * asSize) {
      throw malformed(
        UpdateMessageSubcode.MALFORMED_AS_PATH,
        `${name}: segment of ${count} ASes overruns the attribute`,
        at,
      );
    }
    const asns: number[] = new Array(count);
    if (asSize === 4) for (let i = 0; i < count; i++) asns[i] = r.u32();
    else for (let i = 0; i < count; i++) asns[i] = r.u16();
    segments.push({ type: type as AsPathSegmentType, asns });
  }
  return segments;
}

function encodeSegments(w: ByteWriter, segments: readonly AsPathSegment[], asSize: 2 | 4): void {
  for (const seg of segments) {
    for (let from = 0; from < seg.asns.length; from += MAX_SEGMENT) {
      const to = Math.min(seg.asns.length, from + MAX_SEGMENT);
      w.u8(seg.type);
      w.u8(to - from);
      for (let i = from; i < to; i++) {
        const as = seg.asns[i]!;
        if (asSize === 4) w.u32(as);
        else w.u16(as > 0xffff ? AS_TRANS : as);
      }
    }
  }
}

function isConfed(type: number): boolean {
  return type === AsPathSegmentType.AS_CONFED_SEQUENCE || type === AsPathSegmentType.AS_CONFED_SET;
}

/** RFC 4271 9.1.2.2 a / RFC 6793 4.2.3: an AS_SET counts 1, confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

function needsAs4Path(a: PathAttributes): boolean {
  if (!a.asPath) return false;
  for (const s of a.asPath) {
    if (isConfed(s.type)) continue;
    for (const as of s.asns) if (as > 0xffff) return true;
  }
  return false;
}

export const asPath: AttrEntry = {
  code: AttrType.AS_PATH,
  name: 'AS_PATH',
  flags: AttrFlag.TRANSITIVE,
  onError: 'withdraw',
  decode(r, out, ctx) {
    out.asPath = decodeSegments(r, ctx.as4 ? 4 : 2, 'AS_PATH');
  },
  present: (a) => a.asPath !== undefined,
  encode(a, w, ctx) {
    encodeSegments(w, a.asPath!, ctx.as4 ? 4 : 2);
  },
};

export const as4Path: AttrEntry = {
  code: AttrType.AS4_PATH,
  name: 'AS4_PATH',
  flags: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  onError: 'discard',
  decode(r, out, ctx) {
    if (ctx.as4) {
      throw malformed(
        UpdateMessageSubcode.OPTIONAL_ATTRIBUTE_ERROR,
        'AS4_PATH from a 4-octet AS speaker',
        r.pos,
      );
    }
    const segments = decodeSegments(r, 4, 'AS4_PATH');
    if (segments.some((s) => isConfed(s.type))) {
      throw malformed(UpdateMessageSubcode.MALFORMED_AS_PATH, 'AS4_PATH holds confederation segments', r.pos);
    }
    out.as4Path = segments;
  },
  present: (a, ctx) => !ctx.as4 && needsAs4Path(a),
  encode(a, w) {
    encodeSegments(
      w,
      a.asPath!.filter((s) => !isConfed(s.type)),
      4,
    );
  },
};

/**
 * RFC 6793 4.2.3: the AS path of a route received from a 2-octet speaker. When AS_PATH counts fewer
 * ASes than AS4_PATH, AS4_PATH is ignored; otherwise the leading ASes of AS_PATH (as many as it has
 * more) are kept and AS4_PATH follows them.
 */
export function mergeAs4Path(
  path: readonly AsPathSegment[],
  as4: readonly AsPathSegment[],
): readonly AsPathSegment[] {
  const n = asPathLength(path);
  const n4 = asPathLength(as4);
  if (n < n4) return path;
  let keep = n - n4;
  const out: AsPathSegment[] = [];
  for (const s of path) {
    if (isConfed(s.type)) {
      out.push(s);
      continue;
    }
    if (keep === 0) break;
    if (s.type === AsPathSegmentType.AS_SET) {
      out.push(s);
      keep -= 1;
    } else if (s.asns.length <= keep) {
      out.push(s);
      keep -= s.asns.length;
    } else {
      out.push({ type: s.type, asns: s.asns.slice(0, keep) });
      keep = 0;
    }
  }
  // join a trailing AS_SEQUENCE with a leading one of AS4_PATH
  const last = out[out.length - 1];
  const first = as4[0];
  if (
    last &&
    first &&
    last.type === AsPathSegmentType.AS_SEQUENCE &&
    first.type === AsPathSegmentType.AS_SEQUENCE
  ) {
    out[out.length - 1] = { type: last.type, asns: [...last.asns, ...first.asns] };
    out.push(...as4.slice(1));
  } else {
    out.push(...as4);
  }
  return out;
}

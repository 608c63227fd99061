// Error texts name the code and subcode once, also when one error is wrapped in another (they reach
// logs and `show protocols`).

import { describe, expect, it } from 'vitest';
import { BgpError } from '../../src/bgp/messages/errors.js';
import { decodeMessage } from '../../src/bgp/messages/message.js';

function text(hex: string): string {
  try {
    const m = decodeMessage(Buffer.from(hex, 'hex'));
    return m.type === 'update' ? (m.problems ?? []).map((p) => p.error.message).join('\n') : '';
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    return e.message;
  }
}

describe('error text', () => {
  it('a duplicate MP_UNREACH_NLRI says "UPDATE Message Error" once', () => {
    const t = text('ffffffffffffffffffffffffffffffff0023020000000c800f03000201800f03000201');
    expect(t).toBe('UPDATE Message Error / Malformed Attribute List: MP_UNREACH_NLRI appears more than once');
  });
  it('a prefix overrunning MP_REACH_NLRI names the attribute and the cause, the codes once', () => {
    const t = text('ffffffffffffffffffffffffffffffff0025020000000e800e0b000101040a00000100200a');
    expect(t.match(/UPDATE Message Error/g)).toHaveLength(1);
    expect(t).toContain('MP_REACH_NLRI: IPv4 prefix /32 overruns the field');
  });
});

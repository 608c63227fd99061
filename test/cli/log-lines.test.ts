// The log lines of `tern run --log-level debug` as an operator reads them (JSON, stderr being a pipe):
// A runs alone, so its connects to B's address are refused (the Connect -> Active line names the
// error); then this test plays B over a raw connection from 127.0.0.2: an OPEN, a KEEPALIVE, a good
// UPDATE, one that RFC 7606 treats as withdraw (no NEXT_HOP), and a broken header (framing). Each
// message received and sent has its own debug line with the decoded JSON; the malformed lines carry
// the error code and subcode names.

import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { attr, concat, message, updateBody, updateMessage } from '../helpers/bytes.js';
import { cliDaemons, waitLong } from '../helpers/cli-daemons.js';
import { dial } from '../helpers/raw-conn.js';

const rig = cliDaemons('tern-loglines-');

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '');
const NEXT_HOP = attr(0x40, 3, '7f000002'); // 127.0.0.2
const LOCAL_PREF = attr(0x40, 5, '00000064');

describe('tern run --log-level debug', () => {
  it('logs every message decoded, the reason of Connect -> Active, malformed UPDATEs and framing errors by name', async () => {
    const a = rig.one('a', { argsA: ['--log-level', 'debug'], originateA: ['10.244.1.0/26'] });
    const records = (): Record<string, unknown>[] =>
      a
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const find = async (
      what: string,
      pred: (r: Record<string, unknown>) => boolean,
    ): Promise<Record<string, unknown>> => {
      try {
        return await waitLong(what, () => records().find(pred));
      } catch (e) {
        throw new Error(
          `${e instanceof Error ? e.message : String(e)}; A's log:\n${a.stderr().slice(-4000)}`,
        );
      }
    };
    const message_ = (r: Record<string, unknown>): Record<string, unknown> =>
      (r.message ?? {}) as Record<string, unknown>;

    // nobody listens on B's address: the connect fails and the line says why
    const refused = await find(
      'Connect -> Active',
      (r) => r.msg === 'session state' && r.from === 'Connect' && r.to === 'Active',
    );
    expect(refused.error).toMatch(/^TCP connection failed: connect: connect ECONNREFUSED 127\.0\.0\.2:\d+$/);
    expect(refused.peer).toBe('Mesh_127_0_0_2');

    const b = dial('127.0.0.1', rig.port, '127.0.0.2');
    await new Promise<void>((r) => b.socket.once('connect', () => r()));
    const open = makeOpen({
      as: 64512,
      holdTime: 90,
      bgpId: '10.0.0.2',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 64512 },
      ],
    });
    b.socket.write(concat([encodeMessage(open), message(4, '')]));
    await find('Established', (r) => r.msg === 'session state' && r.to === 'Established');
    // a good UPDATE, then one without NEXT_HOP (RFC 7606: treat as withdraw)
    b.socket.write(
      concat([
        updateMessage(updateBody('', concat([ORIGIN, AS_PATH, NEXT_HOP, LOCAL_PREF]), '1a0af40200')),
        updateMessage(updateBody('', concat([ORIGIN, AS_PATH, LOCAL_PREF]), '1a0af40300')),
      ]),
    );

    const got = await find(
      'the UPDATE received, decoded',
      (r) => r.msg === 'message received' && message_(r).type === 'update',
    );
    expect(got.message).toEqual({
      type: 'update',
      withdrawn: [],
      attributes: { origin: 'igp', asPath: [], nextHop: '127.0.0.2', localPref: 100 },
      nlri: ['10.244.2.0/26'],
    });
    const malformed = await find('the malformed UPDATE', (r) => r.msg === 'malformed UPDATE (RFC 7606)');
    expect(malformed).toMatchObject({
      peer: 'Mesh_127_0_0_2',
      action: 'withdraw',
      code: 3,
      subcode: 3,
      codeName: 'UPDATE Message Error / Missing Well-known Attribute',
    });
    // what A sent: its OPEN and KEEPALIVE, its route (group bytes, decoded for the line), End-of-RIB
    const sent = await waitLong('A sent its route and End-of-RIB', () => {
      const s = records()
        .filter((r) => r.msg === 'message sent')
        .map(message_);
      return s.some((m) => m.endOfRib === 'ipv4-unicast') &&
        s.some((m) => m.type === 'update' && JSON.stringify(m.nlri) === '["10.244.1.0/26"]')
        ? s
        : undefined;
    });
    expect(sent[0]).toMatchObject({ type: 'open', myAs: 64512, bgpId: '10.0.0.1' });
    expect(sent.map((m) => m.type)).toContain('keepalive');
    const received = records()
      .filter((r) => r.msg === 'message received')
      .map(message_);
    expect(received.slice(0, 2).map((m) => m.type)).toEqual(['open', 'keepalive']);

    // a header whose marker is not all ones: named, then NOTIFICATION 1/1 and the session ends
    b.socket.write(concat([new Uint8Array(16), new Uint8Array([0, 19, 4])]));
    const framing = await find('the framing error', (r) => r.msg === 'malformed message header (framing)');
    expect(framing).toMatchObject({
      code: 1,
      subcode: 1,
      codeName: 'Message Header Error / Connection Not Synchronized',
    });
    const notification = await find('the NOTIFICATION sent', (r) => r.msg === 'NOTIFICATION sent');
    expect(notification).toMatchObject({ code: 1, subcode: 1 });
    expect(
      records().find((r) => r.msg === 'message sent' && message_(r).type === 'notification')?.message,
    ).toMatchObject({ type: 'notification', code: 1, subcode: 1 });
    b.socket.destroy();
    expect(await a.stop('SIGINT')).toBe(0);
  });

  it('at info level, no message lines', async () => {
    const a = rig.one('a', {});
    await waitLong('A started', () => a.stderr().includes('tern started'));
    await waitLong('a connect refused', () => a.stderr().includes('ECONNREFUSED'));
    expect(await a.stop()).toBe(0);
    expect(a.stderr()).not.toContain('"message received"');
    expect(a.stderr()).not.toContain('"message sent"');
  });
});

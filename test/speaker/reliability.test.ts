// Reliability cases, each against a real tern speaker on loopback with raw sockets playing the peer:
// a second connection reset while the session is Established (it crashed the daemon once), RFC 8654
// extended messages after negotiation, and a silent connection that must not lock the real peer out.

import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import { type Conn, dial as dialFrom } from '../helpers/raw-conn.js';
import { useSpeakers, waitFor } from '../helpers/speakers.js';

const TERN = '127.0.0.1';
const PEER = '127.0.0.3';

function dial(port: number): Conn {
  return dialFrom(TERN, port, PEER);
}

function open(extended: boolean): Uint8Array {
  return encodeMessage(
    makeOpen({
      as: 64512,
      holdTime: 30,
      bgpId: '10.0.0.99',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 64512 },
        ...(extended ? [{ kind: 'extended-message' as const }] : []),
      ],
    }),
  );
}

/** An UPDATE of 1,500 /24s: over 4,096 bytes, encoded as for an Extended Message session. */
function bigUpdate(): Uint8Array {
  const prefixes: number[] = [];
  for (let i = 0; prefixes.length < 1500; i++)
    prefixes.push(parseIpv4Prefix(`10.${i >> 8}.${i & 255}.0/24`)!);
  return encodeMessage(
    {
      type: 'update',
      withdrawn: { afi: 1, prefixes: [] },
      attributes: { origin: 0, asPath: [], nextHop: '100.64.0.1', localPref: 100 },
      nlri: { afi: 1, prefixes },
    },
    { as4: true, addPath: new Set(), extendedMessage: true },
  );
}

const KEEPALIVE = encodeMessage({ type: 'keepalive' });
const speakers = useSpeakers();

async function ternWithPassivePeer(): Promise<{ port: number; peerState: () => string }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const sp = await speakers.start(`routerId: 10.0.0.50
listen: { address: ${TERN}, port: ${port} }
holdTime: 30
families: [ipv4-unicast]
gracefulRestart: { enabled: false }
peers:
  - { address: ${PEER}, port: ${port}, asn: 64512, passive: true }
`);
  const peer = [...sp.peers.values()][0]!;
  return { port, peerState: () => peer.state };
}

async function established(port: number, extended = false): Promise<Conn> {
  const c = dial(port);
  await waitFor("tern's OPEN", () => c.received.some((m) => m.type === 'open'));
  c.socket.write(Buffer.concat([open(extended), KEEPALIVE]));
  await waitFor("tern's KEEPALIVE", () => c.received.some((m) => m.type === 'keepalive'));
  return c;
}

describe('reliability', () => {
  it('a second connection while Established, reset by its sender, ends that connection only', async () => {
    const { port, peerState } = await ternWithPassivePeer();
    const good = await established(port);
    await waitFor('Established', () => peerState() === 'Established');
    for (let i = 0; i < 5; i++) {
      const second = dial(port);
      await waitFor('the Cease 6/7 on the second connection', () =>
        second.received.some((m) => m.type === 'notification' && m.code === 6 && m.subcode === 7),
      );
      // then RST (SO_LINGER {1, 0}) while tern still reads the socket: it sees ECONNRESET
      await new Promise((r) => setTimeout(r, 300));
      second.socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(peerState()).toBe('Established');
    expect(good.closed).toBe(false);
    expect(good.received.some((m) => m.type === 'notification')).toBe(false);
    good.socket.destroy();
  });

  it('RFC 8654: an UPDATE of over 6,000 bytes is accepted once Extended Message is negotiated', async () => {
    const { port, peerState } = await ternWithPassivePeer();
    const c = await established(port, true);
    await waitFor('Established', () => peerState() === 'Established');
    const big = bigUpdate();
    expect(big.length).toBeGreaterThan(4096);
    c.socket.write(big);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.received.filter((m) => m.type === 'notification')).toEqual([]);
    expect(peerState()).toBe('Established');
    c.socket.destroy();
  });

  it('tern offered Extended Message, so it reads a large UPDATE, but never sends one to a peer that did not offer it', async () => {
    const { port } = await ternWithPassivePeer();
    const c = await established(port, false);
    const big = bigUpdate();
    c.socket.write(big);
    // tern offered the capability, so it reads the message; the peer did not: tern must not send one
    // larger than 4,096 bytes, and what it received is accepted (RFC 8654 only binds the sender)
    await new Promise((r) => setTimeout(r, 300));
    for (const m of c.received)
      expect(
        encodeMessage(m, { as4: true, addPath: new Set(), extendedMessage: true }).length,
      ).toBeLessThanOrEqual(4096);
    c.socket.destroy();
  });

  it('a silent connection from the peer address does not keep the real peer out', async () => {
    const { port, peerState } = await ternWithPassivePeer();
    // several connections that never send an OPEN, then the real peer
    const silent = [dial(port), dial(port), dial(port), dial(port), dial(port)];
    await waitFor('OPENs on the silent connections', () =>
      silent.every((s) => s.closed || s.received.some((m) => m.type === 'open')),
    );
    const good = await established(port);
    await waitFor('Established', () => peerState() === 'Established');
    await new Promise((r) => setTimeout(r, 200));
    expect(good.closed).toBe(false);
    expect(good.received.some((m) => m.type === 'notification')).toBe(false);
    // the silent ones are closed with 6/7 once the real session is up
    await waitFor('silent connections closed', () => silent.every((s) => s.closed));
    for (const s of silent) s.socket.destroy();
    good.socket.destroy();
  });
});

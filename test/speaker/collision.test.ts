// RFC 4271 6.8 connection collision, against a real tern speaker: the test plays the peer with raw
// sockets, accepting tern's outgoing connection and connecting in at the same time, answers OPEN on both,
// and checks that tern keeps the connection the BGP identifiers choose and closes the other with
// Cease / Connection Collision Resolution (6/7).

import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IPV4_UNICAST } from '../../src/bgp/messages/iana.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import { parseIpv4Prefix } from '../../src/bgp/messages/prefix.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { Speaker } from '../../src/speaker/speaker.js';
import { type Conn, track } from '../helpers/raw-conn.js';
import { waitFor } from '../helpers/speakers.js';

const TERN = '127.0.0.1';
const PEER = '127.0.0.2';
const TERN_ID = '10.0.0.50';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function collide(peerId: string): Promise<{ outgoing: Conn; incoming: Conn; speaker: Speaker }> {
  const ternPort = 20000 + Math.floor(Math.random() * 20000);
  const peerPort = ternPort + 1;
  // the peer's listener: tern's outgoing connection arrives here
  let outgoing: Conn | undefined;
  const server: Server = createServer((s) => {
    outgoing = track(s);
  });
  await new Promise<void>((r) => server.listen(peerPort, PEER, () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));

  const speaker = new Speaker(
    parseConfig(
      `routerId: ${TERN_ID}
listen: { address: ${TERN}, port: ${ternPort} }
holdTime: 30
connectRetryTime: 5
peers:
  - { address: ${PEER}, port: ${peerPort}, asn: 64512, localAddress: ${TERN} }
`,
      'collision.yaml',
    ),
    silentLogger(),
  );
  await speaker.start();
  cleanup.push(() => speaker.stop('test over'));

  const out = await waitFor("tern's OPEN on its outgoing connection", () =>
    outgoing?.received.some((m) => m.type === 'open') ? outgoing : undefined,
  );
  // now connect in while tern's outgoing connection waits in OpenSent
  const inSocket = connect({ host: TERN, port: ternPort, localAddress: PEER });
  const incoming = track(inSocket);
  cleanup.push(() => {
    inSocket.destroy();
    out.socket.destroy();
  });
  await waitFor("tern's OPEN on the incoming connection", () =>
    incoming.received.some((m) => m.type === 'open'),
  );

  const open = encodeMessage(
    makeOpen({
      as: 64512,
      holdTime: 30,
      bgpId: peerId,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 64512 },
      ],
    }),
  );
  out.socket.write(open);
  incoming.socket.write(open);
  return { outgoing: out, incoming, speaker };
}

function hasCollisionCease(c: Conn): boolean {
  return c.received.some((m) => m.type === 'notification' && m.code === 6 && m.subcode === 7);
}

describe('connection collision (RFC 4271 6.8)', () => {
  it('peer id higher than ours: tern keeps the connection the peer opened, closes its own with 6/7', async () => {
    const { outgoing, incoming, speaker } = await collide('10.0.0.99');
    await waitFor('6/7 on tern’s outgoing connection', () => hasCollisionCease(outgoing));
    await waitFor('KEEPALIVE on the incoming connection', () =>
      incoming.received.some((m) => m.type === 'keepalive'),
    );
    expect(hasCollisionCease(incoming)).toBe(false);
    incoming.socket.write(encodeMessage({ type: 'keepalive' }));
    const peer = [...speaker.peers.values()][0]!;
    await waitFor('Established', () => peer.state === 'Established');
    await waitFor('the outgoing connection closed', () => outgoing.closed);
    expect(incoming.closed).toBe(false);
  });

  it('peer id lower than ours: tern keeps its own connection, closes the incoming one with 6/7', async () => {
    const { outgoing, incoming, speaker } = await collide('10.0.0.7');
    await waitFor('6/7 on the incoming connection', () => hasCollisionCease(incoming));
    await waitFor('KEEPALIVE on tern’s outgoing connection', () =>
      outgoing.received.some((m) => m.type === 'keepalive'),
    );
    expect(hasCollisionCease(outgoing)).toBe(false);
    outgoing.socket.write(encodeMessage({ type: 'keepalive' }));
    const peer = [...speaker.peers.values()][0]!;
    await waitFor('Established', () => peer.state === 'Established');
    await waitFor('the incoming connection closed', () => incoming.closed);
    expect(outgoing.closed).toBe(false);
  });
});

describe('a graceful-restart peer that reconnects while its session is up (RFC 4724 4.2)', () => {
  it('is taken as restarted: the old session ends keeping its routes as stale, the new one comes up', async () => {
    const ternPort = 20000 + Math.floor(Math.random() * 20000);
    const peerPort = ternPort + 1;
    let first: Conn | undefined;
    // every connection tern opens, also one it opens while the test ends (a peer going down with
    // graceful restart is connected to again at once): closed with the server
    const accepted: Socket[] = [];
    const server: Server = createServer((sock) => {
      accepted.push(sock);
      first ??= track(sock);
    });
    await new Promise<void>((r) => server.listen(peerPort, PEER, () => r()));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          for (const s of accepted) s.destroy();
          server.close(() => r());
        }),
    );
    const speaker = new Speaker(
      parseConfig(
        `routerId: ${TERN_ID}
listen: { address: ${TERN}, port: ${ternPort} }
holdTime: 30
families: [ipv4-unicast]
peers:
  - { address: ${PEER}, port: ${peerPort}, asn: 64512, localAddress: ${TERN} }
`,
        'gr-reconnect.yaml',
      ),
      silentLogger(),
    );
    await speaker.start();
    cleanup.push(() => speaker.stop('test over'));
    const open = encodeMessage(
      makeOpen({
        as: 64512,
        holdTime: 30,
        bgpId: '10.0.0.99',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          {
            kind: 'graceful-restart',
            restartFlags: 0,
            restartTime: 60,
            families: [{ afi: 1, safi: 1, forwardingState: true }],
          },
          { kind: 'four-octet-as', as: 64512 },
        ],
      }),
    );
    const keepalive = encodeMessage({ type: 'keepalive' });
    const update = encodeMessage({
      type: 'update',
      withdrawn: { afi: 1, prefixes: [] },
      attributes: { origin: 0, asPath: [], nextHop: PEER, localPref: 100 },
      nlri: { afi: 1, prefixes: [parseIpv4Prefix('10.5.0.0/24')!] },
    });
    const c1 = await waitFor('tern connects', () => first);
    await waitFor("tern's OPEN", () => c1.received.some((m) => m.type === 'open'));
    c1.socket.write(Buffer.concat([open, keepalive, update]));
    const peer = [...speaker.peers.values()][0]!;
    const rib = speaker.router.locRib;
    const key = parseIpv4Prefix('10.5.0.0/24')!;
    await waitFor('route learned', () => rib.best(IPV4_UNICAST, key));

    // the peer "restarted" without tern noticing: it simply connects again
    const c2 = track(connect({ host: TERN, port: ternPort, localAddress: PEER }));
    cleanup.push(() => {
      c2.socket.destroy();
      c1.socket.destroy();
    });
    await waitFor("tern's OPEN on the new connection", () => c2.received.some((m) => m.type === 'open'));
    // a connection alone changes nothing: only the peer's new OPEN says it restarted
    expect(rib.best(IPV4_UNICAST, key)?.stale).toBeUndefined();
    c2.socket.write(open);
    await waitFor('stale after the new OPEN', () => rib.best(IPV4_UNICAST, key)?.stale === true);
    c2.socket.write(keepalive);
    await waitFor('Established again', () => peer.state === 'Established');
    // the route again, then End-of-RIB: fresh, no longer stale
    c2.socket.write(
      Buffer.concat([
        update,
        encodeMessage({
          type: 'update',
          withdrawn: { afi: 1, prefixes: [] },
          attributes: {},
          nlri: { afi: 1, prefixes: [] },
        }),
      ]),
    );
    await waitFor(
      'renewed',
      () => rib.best(IPV4_UNICAST, key) && rib.best(IPV4_UNICAST, key)?.stale === undefined,
    );
    await waitFor('old connection closed', () => c1.closed);
  });
});

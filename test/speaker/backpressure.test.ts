// A peer that stops reading: tern must not queue UPDATEs without bound. While the socket is full the
// session holds at most MAX_QUEUED_CHUNK_BYTES of its update group's stream; beyond that it catches up
// from the group's table later, so what waits is bounded by the table, however often the routes change.

import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Framer } from '../../src/bgp/messages/framer.js';
import { encodeMessage } from '../../src/bgp/messages/message.js';
import { makeOpen } from '../../src/bgp/messages/open.js';
import type { OriginateRoute } from '../../src/config/types.js';
import type { Link } from '../../src/speaker/link.js';
import { MAX_QUEUED_CHUNK_BYTES } from '../../src/speaker/peer.js';
import { useSpeakers, waitFor } from '../helpers/speakers.js';

const TERN = '127.0.0.1';
const PEER = '127.0.0.2';
const speakers = useSpeakers();

function table(n: number, variant: number): OriginateRoute[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
    family: 'ipv4-unicast' as const,
    communities: [variant],
  }));
}

describe('a peer that stops reading', () => {
  it('gets coalesced changes, not a growing queue', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    let peerSocket: Socket | undefined;
    const server: Server = createServer((s) => {
      peerSocket = s;
      const framer = new Framer();
      const onData = (chunk: Buffer): void => {
        if (framer.push(chunk).length === 0) return;
        // answer the OPEN, then never read again
        s.write(
          Buffer.concat([
            encodeMessage(makeOpen({ as: 64512, holdTime: 0, bgpId: '10.0.0.2', capabilities: [] })),
            encodeMessage({ type: 'keepalive' }),
          ]),
        );
        s.off('data', onData);
        s.pause();
      };
      s.on('data', onData);
    });
    await new Promise<void>((r) => server.listen(port, PEER, () => r()));
    try {
      const sp = await speakers.start(`
routerId: 10.0.0.1
listen: { address: ${TERN}, port: ${port + 1} }
holdTime: 0
families: [ipv4-unicast]
peers:
  - { address: ${PEER}, port: ${port}, asn: 64512, localAddress: ${TERN} }
`);
      const peer = [...sp.peers.values()][0]!;
      await waitFor('Established', () => peer.state === 'Established');
      const N = 60_000;
      // the table changes (another community) again and again while nobody reads
      for (let round = 0; round < 40; round++) {
        sp.router.setOriginated(table(N, round));
        await new Promise((r) => setImmediate(r));
      }
      const link = (peer as unknown as { established: Link }).established;
      const buffered = link.socket?.writableLength ?? 0;
      // one table is about 60,000 x 4 bytes of NLRI; forty unread tables would be ten megabytes
      expect(buffered).toBeLessThan(1_500_000);
      expect(peer.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED_CHUNK_BYTES);
    } finally {
      peerSocket?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

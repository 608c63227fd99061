// A raw TCP connection playing a BGP peer in speaker tests: every message tern sends, decoded, in order,
// and whether the connection closed. No state machine: the test writes what it wants, when it wants.

import { connect, type Socket } from 'node:net';
import { Framer } from '../../src/bgp/messages/framer.js';
import { type BgpMessage, decodeMessage } from '../../src/bgp/messages/message.js';

export interface Conn {
  readonly socket: Socket;
  readonly received: BgpMessage[];
  closed: boolean;
}

/** Follows `socket` (an accepted or a dialled one): messages up to 65,535 bytes are framed. */
export function track(socket: Socket): Conn {
  const c: Conn = { socket, received: [], closed: false };
  const framer = new Framer({ extendedMessage: true });
  socket.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) c.received.push(decodeMessage(m));
  });
  socket.on('end', () => {
    c.closed = true; // tern closed its side
  });
  socket.on('close', () => {
    c.closed = true;
  });
  socket.on('error', () => {});
  return c;
}

/**
 * Connects to tern from `localAddress`. Half-open allowed: like a raw peer, we do not answer tern's FIN
 * with ours, so tern's socket is still open (and reading) when a later RST comes.
 */
export function dial(host: string, port: number, localAddress: string): Conn {
  return track(connect({ host, port, localAddress, allowHalfOpen: true }));
}

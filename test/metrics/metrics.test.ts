// SpeakerMetrics over in-process speakers (totals that survive a reload, NOTIFICATIONs by name as the
// peers count them, whatever the log level), and the bounds of MetricsServer (paths, methods, a failing source, a slow client, too
// many connections).

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { MetricsServer, notificationLabels, SpeakerMetrics } from '../../src/metrics/index.js';
import { Speaker } from '../../src/speaker/speaker.js';
import { httpRequest } from '../helpers/cli-daemons.js';
import { sample } from '../helpers/prom.js';
import { waitFor } from '../helpers/speakers.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const [A, B] = ['127.0.0.4', '127.0.0.5'];

function yaml(self: string, other: string, originate: string[], peers = true): string {
  return `
routerId: ${self}
listen: { address: ${self}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
nextHopResolution: none
originate: [${originate.join(', ')}]
peers:${peers ? `\n  - { name: peer_b, address: ${other}, port: ${PORT}, asn: 64512, localAddress: ${self} }` : ' []'}
`;
}

const running: Speaker[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

describe('SpeakerMetrics', () => {
  it('keeps message totals of a peer removed by a reload and counts its Cease by name', async () => {
    // no log records at all: the counts are the peers' own, not read from log lines
    const a = new Speaker(parseConfig(yaml(A, B, ['10.244.1.0/26']), 'a.yaml'), silentLogger());
    const b = new Speaker(parseConfig(yaml(B, A, ['10.244.2.0/26']), 'b.yaml'), silentLogger());
    running.push(a, b);
    const m = new SpeakerMetrics(a, { version: '1.2.3', processMetrics: false });
    closers.push(() => m.close());
    await a.start();
    await b.start();
    await waitFor('Established', () => [...a.peers.values()][0]?.adjRibIn.count() === 1);

    const before = await m.metrics();
    expect(sample(before, 'tern_bgp_sessions', { state: 'Established' })).toBe(1);
    expect(sample(before, 'tern_bgp_peer_prefixes_received', { peer: 'peer_b' })).toBe(1);
    const updatesIn = sample(before, 'tern_bgp_messages_total', { direction: 'received', type: 'update' });
    expect(updatesIn).toBeGreaterThan(0);
    expect(before).not.toMatch(/^process_/m);

    // the peer goes (Cease 6/3): its counts stay in the totals, its own series go
    await a.reload(parseConfig(yaml(A, B, ['10.244.1.0/26'], false), 'a.yaml'));
    const after = await m.metrics();
    expect(sample(after, 'tern_bgp_messages_total', { direction: 'received', type: 'update' })).toBe(
      updatesIn,
    );
    expect(sample(after, 'tern_bgp_messages_total', { direction: 'sent', type: 'notification' })).toBe(1);
    expect(
      sample(after, 'tern_bgp_notifications_total', {
        direction: 'sent',
        code: 'Cease',
        subcode: 'Peer De-configured',
      }),
    ).toBe(1);
    expect(sample(after, 'tern_bgp_sessions', { state: 'Established' })).toBe(0);
    expect(after).not.toContain('peer="peer_b"');
    expect(sample(after, 'tern_info', { version: '1.2.3', router_id: A, asn: '64512' })).toBe(1);
  });

  it('names NOTIFICATION codes and subcodes, unknown ones as unknown', () => {
    expect(notificationLabels(4, 0)).toEqual({ code: 'Hold Timer Expired', subcode: 'Unspecific' });
    expect(notificationLabels(6, 99)).toEqual({ code: 'Cease', subcode: 'unknown' });
    expect(notificationLabels(200, 1)).toEqual({ code: 'unknown', subcode: 'unknown' });
  });
});

describe('MetricsServer', () => {
  async function serve(
    metrics: () => Promise<string>,
    opts: { requestTimeoutMs?: number; maxConnections?: number } = {},
  ): Promise<string> {
    const server = new MetricsServer(
      { address: '127.0.0.1', port: 0 },
      { metrics, contentType: 'text/plain; version=0.0.4; charset=utf-8' },
      silentLogger(),
      opts,
    );
    // port 0 is not a valid config, but the server takes it (tests)
    await server.start();
    closers.push(() => server.stop());
    return `http://127.0.0.1:${server.port}`;
  }

  it('answers GET and HEAD /metrics, 404 elsewhere, 405 for other methods, 500 when collecting fails', async () => {
    let fail = false;
    const base = await serve(async () => {
      if (fail) throw new Error('boom');
      return 'x 1\n';
    });
    const ok = await httpRequest(`${base}/metrics?x=1`);
    expect(ok).toMatchObject({ status: 200, body: 'x 1\n' });
    expect(ok.headers['content-type']).toContain('text/plain');
    expect((await httpRequest(`${base}/metrics`, 'HEAD')).body).toBe('');
    expect((await httpRequest(`${base}/`)).status).toBe(404);
    expect((await httpRequest(`${base}/metrics`, 'DELETE')).status).toBe(405);
    fail = true;
    const bad = await httpRequest(`${base}/metrics`);
    expect(bad.status).toBe(500);
    expect(bad.body).toContain('boom');
  });

  it('closes a client that never finishes its request, and refuses connections beyond the limit', async () => {
    const base = await serve(async () => 'x 1\n', { requestTimeoutMs: 300, maxConnections: 1 });
    const port = Number(new URL(base).port);
    const open = (): Promise<{ socket: Socket; closed: Promise<number> }> =>
      new Promise((resolve) => {
        const t0 = Date.now();
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // never the blank line
          resolve({ socket, closed: new Promise((r) => socket.on('close', () => r(Date.now() - t0))) });
        });
        socket.on('error', () => {});
        socket.resume(); // read what the server sends (its 400), and so see the close
      });
    const slow = await open();
    const second = await open();
    // the second connection is over the limit: closed at once
    expect(await second.closed).toBeLessThan(1000);
    // the slow one: closed once its request time is up (checked every 300 ms here)
    const ms = await slow.closed;
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5000);
    // and the server still answers
    expect((await httpRequest(`${base}/metrics`)).status).toBe(200);
  });
});

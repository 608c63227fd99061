// The Prometheus endpoint as an operator uses it: two `tern run` daemons peered on loopback, A with
// `metrics:` on, scraped with node's HTTP client; the values checked against what happened (the
// session, the prefixes B announced, the messages, a refused connection, B's Cease on stop).

import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cliDaemons, httpRequest, waitLong } from '../helpers/cli-daemons.js';
import { sample } from '../helpers/prom.js';

const rig = cliDaemons('tern-metrics-');
const METRICS_PORT = 40000 + Math.floor(Math.random() * 20000);
const URL = `http://127.0.0.1:${METRICS_PORT}/metrics`;

async function scrape(): Promise<string | undefined> {
  try {
    const r = await httpRequest(URL);
    return r.status === 200 ? r.body : undefined;
  } catch {
    return undefined;
  }
}

describe('tern run with metrics: GET /metrics', () => {
  it('reports sessions, prefixes, messages, refused connections and NOTIFICATIONs by code', async () => {
    const { a, b } = rig.peered({
      extraA: `metrics: { address: 127.0.0.1, port: ${METRICS_PORT} }`,
      originateA: ['10.244.1.0/26'],
      originateB: ['10.244.2.0/26', '10.244.3.0/26', '10.244.4.0/26'],
    });

    const text = await waitLong('A Established with 3 prefixes', async () => {
      const t = await scrape();
      return t && sample(t, 'tern_bgp_peer_prefixes_received', { peer: 'Mesh_127_0_0_2' }) === 3
        ? t
        : undefined;
    });
    expect(sample(text, 'tern_bgp_sessions', { state: 'Established' })).toBe(1);
    for (const state of ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm'])
      expect(sample(text, 'tern_bgp_sessions', { state })).toBe(0);
    expect(sample(text, 'tern_bgp_peer_established', { peer: 'Mesh_127_0_0_2' })).toBe(1);
    expect(sample(text, 'tern_bgp_peer_prefixes_advertised', { peer: 'Mesh_127_0_0_2' })).toBe(1);
    expect(
      sample(text, 'tern_bgp_messages_total', { direction: 'received', type: 'update' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'tern_bgp_messages_total', { direction: 'sent', type: 'update' })).toBeGreaterThan(0);
    expect(sample(text, 'tern_bgp_messages_total', { direction: 'received', type: 'open' })).toBeGreaterThan(
      0,
    );
    expect(
      sample(text, 'tern_bgp_messages_total', { direction: 'received', type: 'keepalive' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'tern_rib_prefixes', { family: 'ipv4-unicast' })).toBe(4);
    expect(sample(text, 'tern_rib_routes')).toBe(4);
    // one run per route added (A's own and B's three), each a new best
    expect(sample(text, 'tern_decision_runs_total')).toBe(4);
    expect(sample(text, 'tern_decision_best_changes_total')).toBe(4);
    expect(sample(text, 'tern_refused_connections_total')).toBe(0);
    expect(sample(text, 'tern_fib_write_errors_total')).toBe(0);
    expect(sample(text, 'tern_info', { router_id: '10.0.0.1', asn: '64512' })).toBe(1);
    expect(sample(text, 'tern_event_loop_delay_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE tern_bgp_messages_total counter$/m);

    // a connection from an address that is no peer: refused, and counted
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: rig.port, localAddress: '127.0.0.3' });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    await waitLong('the refusal counted', async () => {
      const t = await scrape();
      return t !== undefined && sample(t, 'tern_refused_connections_total') === 1;
    });

    // only GET (and HEAD) /metrics
    expect((await httpRequest(`http://127.0.0.1:${METRICS_PORT}/`)).status).toBe(404);
    expect((await httpRequest(`http://127.0.0.1:${METRICS_PORT}/metrics/x`)).status).toBe(404);
    const post = await httpRequest(URL, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await httpRequest(URL, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');

    // B shuts down (SIGINT: not a graceful restart): A receives Cease / Administrative Shutdown,
    // counted by name; the session is down
    expect(await b.stop('SIGINT')).toBe(0);
    const after = await waitLong('the Cease counted', async () => {
      const t = await scrape();
      return t &&
        sample(t, 'tern_bgp_notifications_total', {
          direction: 'received',
          code: 'Cease',
          subcode: 'Administrative Shutdown',
        }) === 1
        ? t
        : undefined;
    });
    expect(sample(after, 'tern_bgp_sessions', { state: 'Established' })).toBe(0);
    expect(sample(after, 'tern_bgp_peer_prefixes_received', { peer: 'Mesh_127_0_0_2' })).toBe(0);
    expect(sample(after, 'tern_bgp_messages_total', { direction: 'received', type: 'notification' })).toBe(1);
    expect(a.stderr()).toContain('metrics endpoint listening');

    expect(await a.stop()).toBe(0);
  });

  it('refuses to start when the metrics port is taken, naming metrics and the address', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const { a, b } = rig.peered({ extraA: `metrics: { address: 127.0.0.1, port: ${port} }` });
      const code = await new Promise<number | null>((resolve) => a.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(a.stderr()).toContain(`tern run: cannot start: metrics: cannot listen on 127.0.0.1:${port}`);
      // B stops once it is up: a SIGTERM while Node is still loading the modules kills it (no handler yet)
      await waitLong('B listening', () => b.stderr().includes('listening'));
      expect(await b.stop()).toBe(0);
    } finally {
      taken.close();
    }
  });
});

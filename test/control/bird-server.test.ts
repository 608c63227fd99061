// The BIRD-compatible server in-process, over a fake source: the greeting, commands answered in order
// (also when written before the greeting is read, as Calico's readers do), the limits, `restrict`,
// `configure` and its outcomes, a long route list written in slices while the client reads, and the
// socket file handled as the JSON socket's is.

import { lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RouteAttributes } from '../../src/bgp/rib/adj-rib-in.js';
import type { BirdNet, BirdProtocol } from '../../src/control/bird/format.js';
import { type BirdConfigure, BirdControlServer, type ReloadOutcome } from '../../src/control/bird/server.js';
import type { BirdSource } from '../../src/control/bird/source.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../helpers/speakers.js';

// times below are written in UTC; BIRD (and tern) print local time
process.env['TZ'] = 'UTC';
const dir = mkdtempSync(join(tmpdir(), 'tern-bird-'));
const servers: BirdControlServer[] = [];
const clients: Socket[] = [];
let n = 0;

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (): string => join(dir, `b${++n}.ctl`);
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

const peer: BirdProtocol = {
  name: 'Mesh_10_0_0_2',
  proto: 'BGP',
  state: 'up',
  since: NOW - 1000,
  routes: { imported: 0, exported: 0, preferred: 0 },
  bgp: { state: 'Established', neighborAddress: '10.0.0.2', neighborAs: 64512 },
};

function source(nets: () => Iterable<BirdNet> = () => []): BirdSource {
  return {
    protocols: () => [peer],
    isProtocol: (name) => name === peer.name || name === 'static1',
    nets: () => nets(),
    status: (now) => ({
      version: '1.6.8',
      routerId: '10.0.0.1',
      now,
      bootTime: NOW,
      configuredAt: NOW,
      gracefulRestart: false,
      reconfiguring: false,
    }),
    memory: () => ({ heapUsed: 1, heapTotal: 2, external: 3, rss: 4 }),
  };
}

function server(
  path: string,
  opts: { configure?: BirdConfigure; configureWaitMs?: number; src?: BirdSource } = {},
): BirdControlServer {
  const s = new BirdControlServer(path, opts.src ?? source(), silentLogger(), {
    version: '1.6.8',
    now: () => NOW,
    ...(opts.configure ? { configure: opts.configure } : {}),
    ...(opts.configureWaitMs !== undefined ? { configureWaitMs: opts.configureWaitMs } : {}),
  });
  servers.push(s);
  return s;
}

/** A raw client collecting what it reads. */
function client(
  path: string,
): Promise<{ socket: Socket; read: () => string; until: (s: string) => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    clients.push(socket);
    let got = '';
    const waiters: { s: string; resolve: (v: string) => void }[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
      for (const w of waiters.splice(0)) {
        if (got.includes(w.s)) w.resolve(got);
        else waiters.push(w);
      }
    });
    socket.once('connect', () =>
      resolve({
        socket,
        read: () => got,
        until: (s) =>
          got.includes(s)
            ? Promise.resolve(got)
            : new Promise((res, rej) => {
                const t = setTimeout(() => rej(new Error(`no "${s}" in ${JSON.stringify(got)}`)), 5000);
                waiters.push({
                  s,
                  resolve: (v) => {
                    clearTimeout(t);
                    res(v);
                  },
                });
              }),
      }),
    );
    socket.once('error', reject);
  });
}

describe('BirdControlServer: the conversation', () => {
  it('greets, then answers commands in order, also when written before the greeting is read', async () => {
    const path = fresh();
    await server(path).start();
    const c = await client(path);
    c.socket.write('show status\nshow protocols\nfoo\n');
    const out = await c.until('9001 syntax error\n');
    expect(out).toBe(
      [
        '0001 BIRD 1.6.8 ready.',
        '1000-BIRD 1.6.8',
        '1011-Router ID is 10.0.0.1',
        ' Current server time is 2026-01-01 12:00:00',
        ' Last reboot on 2026-01-01 12:00:00',
        ' Last reconfiguration on 2026-01-01 12:00:00',
        '0013 Daemon is up and running',
        '2002-name     proto    table    state  since       info',
        '1002-Mesh_10_0_0_2 BGP      master   up     11:59:59    Established   ',
        '0000 ',
        '9001 syntax error',
        '',
      ].join('\n'),
    );
  });

  it('a client that ends its input first gets its replies, then the server closes', async () => {
    const path = fresh();
    await server(path).start();
    const c = await client(path);
    c.socket.end('show status\nshow protocols\n');
    await new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
    expect(c.read()).toMatch(
      /\n0013 Daemon is up and running\n2002-name .*\n1002-Mesh_10_0_0_2 .*\n0000 \n$/,
    );
  });

  it('takes \\r\\n line ends and answers a command split over several writes', async () => {
    const path = fresh();
    await server(path).start();
    const c = await client(path);
    c.socket.write('show mem');
    await new Promise((r) => setTimeout(r, 50));
    c.socket.write('ory\r\n');
    expect(await c.until('0000 \n')).toContain('1018-BIRD memory usage\n');
  });

  it('answers 9000 to a command longer than 4096 bytes and goes on', async () => {
    const path = fresh();
    await server(path).start();
    const c = await client(path);
    c.socket.write(`show ${'x'.repeat(5000)}`);
    await c.until('9000 Command too long\n');
    c.socket.write(`${'y'.repeat(3000)}\nshow protocols ${'z'.repeat(4100)}\nshow status\n`);
    const out = await c.until('0013 ');
    expect(out.match(/9000 Command too long\n/g)).toHaveLength(2);
  });

  it('restrict: 0016, then configure is 8007 Access denied', async () => {
    const path = fresh();
    const c = configure();
    await server(path, { configure: c }).start();
    const cl = await client(path);
    cl.socket.write('restrict\nconfigure\n');
    const out = await cl.until('8007 ');
    expect(out).toContain('0016 Access restricted\n8007 Access denied\n');
    expect(c.reloads).toBe(0);
  });
});

/** run.ts's side of `configure`, faked: counts the reloads it is asked for. */
function configure(
  outcome: () => Promise<ReloadOutcome> = async () => ({ ok: true }),
  o: { busy?: boolean; check?: ReloadOutcome } = {},
): BirdConfigure & { reloads: number } {
  const c = {
    reloads: 0,
    file: '/etc/tern/tern.yaml',
    reload: () => {
      c.reloads++;
      return outcome();
    },
    check: () => o.check ?? { ok: true },
    busy: () => o.busy ?? false,
  };
  return c;
}

describe('BirdControlServer: configure', () => {
  const reading = '0002-Reading configuration from /etc/tern/tern.yaml\n';

  async function ask(c: BirdConfigure | undefined, line: string, waitMs?: number): Promise<string> {
    const path = fresh();
    await server(path, {
      ...(c ? { configure: c } : {}),
      ...(waitMs !== undefined ? { configureWaitMs: waitMs } : {}),
    }).start();
    const cl = await client(path);
    cl.socket.write(`${line}\n`);
    // the greeting and the reply: two final lines ("<code> ...")
    await waitFor('the reply', () => (cl.read().match(/^\d{4} /gm) ?? []).length >= 2, 5000, 5);
    return cl.read().replace('0001 BIRD 1.6.8 ready.\n', '');
  }

  it('reloads: 0002 Reading configuration, 0003 Reconfigured', async () => {
    const c = configure();
    expect(await ask(c, 'configure')).toBe(`${reading}0003 Reconfigured\n`);
    expect(c.reloads).toBe(1);
  });

  it('a config that does not validate: 8002 with each problem', async () => {
    const error = 'tern.yaml: peers[0].asn: expected an integer\ntern.yaml: routerId: expected a dotted quad';
    expect(
      await ask(
        configure(async () => ({ ok: false, error })),
        'configure',
      ),
    ).toBe(
      `${reading}8002-tern.yaml: peers[0].asn: expected an integer\n8002 tern.yaml: routerId: expected a dotted quad\n`,
    );
  });

  it('a reload that takes longer: 0004 Reconfiguration in progress', async () => {
    const slow = configure(() => new Promise<ReloadOutcome>((r) => setTimeout(() => r({ ok: true }), 500)));
    expect(await ask(slow, 'configure', 50)).toBe(`${reading}0004 Reconfiguration in progress\n`);
  });

  it('a reload under way: this one queued behind it, 0005', async () => {
    const c = configure(undefined, { busy: true });
    expect(await ask(c, 'configure')).toBe(
      `${reading}0005 Reconfiguration already in progress, queueing new config\n`,
    );
    expect(c.reloads).toBe(1);
  });

  it('configure check validates only: 0020, or 8002', async () => {
    const c = configure();
    expect(await ask(c, 'configure check')).toBe(`${reading}0020 Configuration OK\n`);
    const bad = configure(undefined, { check: { ok: false, error: 'bad' } });
    expect(await ask(bad, 'configure check')).toBe(`${reading}8002 bad\n`);
    expect(c.reloads + bad.reloads).toBe(0);
  });

  it('confirm and undo: nothing to do (tern has no configure timeout)', async () => {
    expect(await ask(undefined, 'configure confirm')).toBe('0019 Nothing to do\n');
    expect(await ask(undefined, 'configure undo')).toBe('0021-Undo requested\n0019 Nothing to do\n');
  });

  it('without a file to reload: 8002', async () => {
    expect(await ask(undefined, 'configure')).toBe('8002 tern runs without a configuration file to reload\n');
  });
});

describe('BirdControlServer: a long route list', () => {
  const attributes: RouteAttributes = { nextHop: '10.0.0.2' };
  const NETS = 50_000;
  function* many(pulled: { n: number }): Generator<BirdNet> {
    for (let i = 0; i < NETS; i++) {
      pulled.n++;
      yield {
        prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
        routes: [
          {
            protocol: 'Mesh_10_0_0_2',
            kind: 'bgp',
            primary: true,
            reachable: true,
            since: NOW,
            attributes,
          },
        ],
      };
    }
  }

  it('is written in slices, no faster than the client reads, without holding the event loop', async () => {
    const path = fresh();
    const pulled = { n: 0 };
    await server(path, { src: source(() => many(pulled)) }).start();
    const c = await client(path);
    await c.until('ready.\n');
    c.socket.pause();
    let last = performance.now();
    let worst = 0;
    const tick = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last);
      last = t;
    }, 5);
    try {
      c.socket.write('show route\n');
      await new Promise((r) => setTimeout(r, 500));
      // the client reads nothing: the server stopped pulling routes, well before the end
      expect(pulled.n).toBeGreaterThan(0);
      expect(pulled.n).toBeLessThan(NETS);
      c.socket.resume();
      const out = await c.until('\n0000 \n');
      expect(out.split('\n').filter((l) => l.includes('[Mesh_10_0_0_2 ')).length).toBe(NETS);
      expect(pulled.n).toBe(NETS);
    } finally {
      clearInterval(tick);
    }
    expect(worst).toBeLessThan(250);
  });
});

describe('BirdControlServer: the socket file', () => {
  it('listens with mode 0660 and removes its socket on stop', async () => {
    const path = fresh();
    const s = server(path);
    await s.start();
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    await s.stop();
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });

  it('refuses a live socket and a regular file, naming control.birdSocket', async () => {
    const path = fresh();
    await server(path).start();
    await expect(server(path).start()).rejects.toThrow(
      `another process is listening on ${path}: stop it, or give this tern another control.birdSocket`,
    );
    const file = fresh();
    writeFileSync(file, 'keep\n');
    await expect(server(file).start()).rejects.toThrow(
      `${file} is a regular file (5 bytes), not a socket: tern does not remove it; move it away or choose another control.birdSocket`,
    );
  });
});

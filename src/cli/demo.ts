// `tern demo`: a small Calico-style network in one process, on loopback, without root. Three nodes
// (127.0.0.11-13, AS 64512, iBGP), each originating its block 10.244.N.0/26, peer with a dedicated
// route reflector (127.0.0.10) as its clients, the topology of a Calico cluster with the mesh off.
// Every speaker is a real Speaker with its control socket in a temporary directory, so
// `tern show ... -s <socket>` works against them while the demo runs. Nothing touches the host: next
// hops are not resolved through the kernel and no route is written. Prints the `show protocols`
// tables and each speaker's routes whenever they change, until Ctrl-C or `--duration` seconds.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../config/load.js';
import { ControlServer } from '../control/server.js';
import { controlHandler } from '../control/views.js';
import { createLogger, type LogLevel } from '../log.js';
import { Speaker } from '../speaker/speaker.js';
import { ternVersion } from '../version.js';
import { formatShow, table } from './show.js';

export const DEMO_ASN = 64512;
export const REFLECTOR_ADDRESS = '127.0.0.10';

/** One speaker of the demo network. */
export interface DemoNode {
  readonly name: string;
  readonly address: string;
  /** The block it originates (none for the reflector). */
  readonly block?: string;
}

export const DEMO_NODES: readonly DemoNode[] = [1, 2, 3].map((n) => ({
  name: `node${n}`,
  address: `127.0.0.${10 + n}`,
  block: `10.244.${n}.0/26`,
}));
export const DEMO_REFLECTOR: DemoNode = { name: 'reflector', address: REFLECTOR_ADDRESS };

/** Calico's protocol names: `Node_127_0_0_11`, `Global_127_0_0_10`. */
const protocolName = (kind: 'Node' | 'Global', address: string): string =>
  `${kind}_${address.replace(/[.:]/g, '_')}`;

/** Timers short enough to see the network come up in a second or two. */
const FAST = `holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
nextHopResolution: none
`;

/** The reflector: listens on `port`, waits for its three clients. */
export function reflectorConfig(port: number): string {
  const peers = DEMO_NODES.map(
    (n) =>
      `  - { name: ${protocolName('Node', n.address)}, address: ${n.address}, asn: ${DEMO_ASN}, rrClient: true, passive: true }`,
  );
  return `routerId: ${REFLECTOR_ADDRESS}
asn: ${DEMO_ASN}
listen: { address: ${REFLECTOR_ADDRESS}, port: ${port} }
reflector: { clusterId: ${REFLECTOR_ADDRESS} }
${FAST}peers:
${peers.join('\n')}
`;
}

/** A node: connects to the reflector at `port`, originates its block, listens for nothing. */
export function nodeConfig(node: DemoNode, port: number): string {
  return `routerId: ${node.address}
asn: ${DEMO_ASN}
listen: false
${FAST}originate: [${node.block ?? ''}]
peers:
  - { name: ${protocolName('Global', REFLECTOR_ADDRESS)}, address: ${REFLECTOR_ADDRESS}, port: ${port}, asn: ${DEMO_ASN}, localAddress: ${node.address} }
`;
}

type Row = Record<string, unknown>;

/** What one speaker shows: its `show protocols` rows and the best route of each prefix. */
export interface SpeakerView {
  readonly node: DemoNode;
  readonly protocols: readonly Row[];
  readonly routes: readonly Row[];
}

/** Whether two moments look the same (the `Since` column aside, which moves every second). */
export function viewKey(views: readonly SpeakerView[]): string {
  return JSON.stringify(
    views.map((v) => [
      v.protocols.map((p) => [p.name, p.state, p.prefixesReceived, p.prefixesAdvertised, p.info]),
      v.routes.map((r) => [r.prefix, r.nextHop, r.from]),
    ]),
  );
}

/** Every session up, every speaker with every node's block. */
export function converged(views: readonly SpeakerView[]): boolean {
  const blocks = DEMO_NODES.map((n) => n.block);
  return views.every(
    (v) =>
      v.protocols.every((p) => p.state === 'Established') &&
      blocks.every((b) => v.routes.some((r) => r.prefix === b)),
  );
}

const indent = (s: string): string =>
  s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** One snapshot: per speaker, its `show protocols` table and its routes (prefix, next hop, from). */
export function formatViews(views: readonly SpeakerView[], elapsedSeconds: number): string {
  const out = [`--- after ${elapsedSeconds.toFixed(1)} s`];
  for (const v of views) {
    const what = v.node.block ? `originates ${v.node.block}` : 'route reflector';
    out.push(`${v.node.name} (${v.node.address}, ${what})`);
    out.push(indent(formatShow('protocols', v.protocols)));
    out.push(
      v.routes.length === 0
        ? '  (no routes yet)'
        : indent(
            table(v.routes, [
              ['Prefix', 'prefix'],
              ['Next hop', 'nextHop'],
              ['From', 'from'],
            ]),
          ),
    );
  }
  return out.join('\n');
}

export interface DemoOptions {
  /** Seconds to run; absent: until SIGINT/SIGTERM. */
  readonly duration?: number;
  /** The reflector's port (0: one the system picks). */
  readonly port?: number;
  readonly logLevel?: LogLevel;
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** How often the views are looked at (ms). */
  readonly pollMs?: number;
}

/** A port free on `address` now (the system's pick), for a config that needs a number. */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: address, port: 0 }, () => {
      const a = probe.address();
      const port = a && typeof a === 'object' ? a.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** How to call this tern again, for the hints: `node dist/cli/main.js`, or `tern` when installed. */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (!/main\.[jt]s$/.test(script)) return 'tern';
  const rel = relative(process.cwd(), script);
  return script.endsWith('.ts') ? `npx tsx ${rel}` : `node ${rel}`;
}

interface Running {
  readonly node: DemoNode;
  readonly speaker: Speaker;
  readonly control: ControlServer;
  readonly socket: string;
  readonly handler: ReturnType<typeof controlHandler>;
}

function viewOf(r: Running): SpeakerView {
  const protocols = r.handler({ command: 'show protocols' }) as Row[];
  const rib = r.handler({ command: 'show routes', args: { all: true } }) as Row[];
  return { node: r.node, protocols, routes: rib.filter((x) => x.best === true) };
}

/** Runs the demo; resolves with the exit code (0; 1 if it could not start or, with a duration, never converged). */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const log = createLogger(opts.logLevel ?? 'error', { format: 'pretty', color: tty });
  const dir = mkdtempSync(join(tmpdir(), 'tern-demo-'));
  const version = ternVersion();
  const running: Running[] = [];
  const add = async (node: DemoNode, yaml: string): Promise<Running> => {
    const speaker = new Speaker(parseConfig(yaml, `${node.name}.yaml`), log.child({ speaker: node.name }));
    const socket = join(dir, `${node.name}.ctl`);
    const handler = controlHandler(speaker, version);
    const control = new ControlServer(socket, handler, log.child({ speaker: node.name }));
    const r = { node, speaker, control, socket, handler };
    running.push(r);
    await control.start();
    await speaker.start();
    return r;
  };
  const cleanUp = async (): Promise<void> => {
    await Promise.all(running.map((r) => r.speaker.stop('tern demo is over')));
    await Promise.all(running.map((r) => r.control.stop()));
    rmSync(dir, { recursive: true, force: true });
  };

  const t0 = performance.now();
  let port: number;
  try {
    const rr = await add(DEMO_REFLECTOR, reflectorConfig(opts.port || (await freePort(REFLECTOR_ADDRESS))));
    port = rr.speaker.listenPort ?? 0;
    for (const n of DEMO_NODES) await add(n, nodeConfig(n, port));
  } catch (e) {
    opts.err(`tern demo: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    await cleanUp();
    return 1;
  }

  const self = selfCommand();
  opts.out(
    [
      `tern demo: ${DEMO_NODES.length} nodes and a route reflector, AS ${DEMO_ASN}, iBGP on loopback (no root, no kernel routes)`,
      indent(
        table(
          running.map((r) => ({
            name: r.node.name,
            address: r.node === DEMO_REFLECTOR ? `${r.node.address}:${port}` : r.node.address,
            role: r.node.block ? `node, originates ${r.node.block}` : 'route reflector',
            socket: r.socket,
          })),
          [
            ['Speaker', 'name'],
            ['Address', 'address'],
            ['Role', 'role'],
            ['Control socket', 'socket'],
          ],
        ),
      ),
      `While it runs, ask any of them: ${self} show protocols -s ${running[0]?.socket ?? ''}`,
      `                               ${self} show routes --all -s ${running[1]?.socket ?? ''}`,
      opts.duration === undefined
        ? 'Running until Ctrl-C (or give --duration <seconds>).'
        : `Running for ${opts.duration} s (Ctrl-C stops it sooner).`,
      '',
    ].join('\n'),
  );

  return new Promise<number>((resolve) => {
    let lastKey = '';
    let convergedAt: number | undefined;
    let done = false;
    const look = (): void => {
      const views = running.map(viewOf);
      const key = viewKey(views);
      const elapsed = (performance.now() - t0) / 1000;
      if (key !== lastKey) {
        lastKey = key;
        opts.out(`${formatViews(views, elapsed)}\n`);
      }
      if (converged(views)) {
        if (convergedAt === undefined) {
          convergedAt = elapsed;
          opts.out(
            `Converged after ${elapsed.toFixed(1)} s: every session Established, every speaker has every node's block.\n`,
          );
        }
      } else if (convergedAt !== undefined) {
        convergedAt = undefined;
        opts.out('Not converged any more.\n');
      }
    };
    const timer = setInterval(look, opts.pollMs ?? 200);
    const stop = (why: string): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (deadline) clearTimeout(deadline);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      look();
      const ok = convergedAt !== undefined || opts.duration === undefined;
      opts.out(`Stopping (${why}): Cease to every peer, control sockets and ${dir} removed.`);
      if (!ok) opts.err('tern demo: the network did not converge in time');
      void cleanUp().then(
        () => resolve(ok ? 0 : 1),
        (e: unknown) => {
          opts.err(`tern demo: stopping: ${e instanceof Error ? e.message : String(e)}`);
          resolve(1);
        },
      );
    };
    const onInt = (): void => stop('Ctrl-C');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const deadline =
      opts.duration === undefined
        ? undefined
        : setTimeout(() => stop(`${opts.duration} s are over`), opts.duration * 1000);
    look();
  });
}

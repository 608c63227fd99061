// A real etcd for the tests of the etcd datastore source (test/calico/etcd*.test.ts): Debian's etcd-server,
// started on free loopback ports with a temporary data directory, stopped by its PID. For the end-to-end
// clusters (test/e2e/cluster.ts) it runs inside a network namespace instead (`ip netns exec`, which execs
// etcd in place: the PID is etcd's), serving the daemons of the other namespaces on an address there and
// this process on a unix socket in its directory (a unix socket is a file: no network namespace needed to
// reach it). And Calico resources
// written the way calicoctl (libcalico-go's etcdv3 backend) writes them, built here independently of the
// code under test: the v3 object as JSON (kind, apiVersion, metadata without resourceVersion, spec) at
// /calico/resources/v3/projectcalico.org/<plural>/<name>, and a block affinity as {"state","deleted"} at
// /calico/ipam/v2/host/<host>/ipv4/block/<cidr with "/" as "-">.
//
// Without etcd, describeEtcd prints a loud `SKIPPED etcd (...)` line and skips; under TERN_REQUIRE_INTEROP=1
// it fails instead (as test/interop/harness/env.ts does for the interop daemons).

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { describe, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../helpers/chaos-daemon.js';
import { interopRequired } from '../interop/harness/env.js';

export type Availability = { ok: true } | { ok: false; reason: string };

/** The binaries (TERN_ETCD / TERN_ETCDCTL name others, e.g. a non-existent one to see the SKIPPED path). */
const ETCD = process.env['TERN_ETCD'] ?? 'etcd';
const ETCDCTL = process.env['TERN_ETCDCTL'] ?? 'etcdctl';

/** etcd and etcdctl run (Debian's etcd-server and etcd-client; .ci/install-interop.sh installs them). */
export function etcdAvailable(): Availability {
  for (const [cmd, args] of [
    [ETCD, ['--version']],
    [ETCDCTL, ['version']],
  ] as const) {
    const r = spawnSync(cmd, args, {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    if (r.error !== undefined || r.status !== 0) {
      return {
        ok: false,
        reason: `${cmd} not runnable (apt-get install etcd-server etcd-client, or .ci/install-interop.sh)`,
      };
    }
  }
  return { ok: true };
}

/** `describe` that needs etcd: SKIPPED without it, FAILS without it under TERN_REQUIRE_INTEROP=1. */
export function describeEtcd(name: string, fn: () => void): void {
  describeEtcdAnd([], name, fn);
}

/**
 * `describe` that needs etcd and more (`kernel`: root and network namespaces, `interop`: the interop
 * daemons too; pass env.ts's netnsAvailable() / interopAvailable()): a `SKIPPED <kind> (<reason>)` line
 * for each thing missing and a skip; under TERN_REQUIRE_INTEROP=1 one failing test naming them instead.
 */
export function describeEtcdAnd(
  others: readonly { readonly kind: string; readonly availability: Availability }[],
  name: string,
  fn: () => void,
): void {
  const missing = [{ kind: 'etcd', availability: etcdAvailable() }, ...others].flatMap((o) =>
    o.availability.ok ? [] : [{ kind: o.kind, reason: o.availability.reason }],
  );
  if (missing.length > 0 && interopRequired()) {
    describe(name, () => {
      it(`has ${missing.map((m) => m.kind).join(' and ')} (TERN_REQUIRE_INTEROP=1)`, () => {
        throw new Error(
          `${missing.map((m) => `${m.kind} tests required but not runnable: ${m.reason}`).join('; ')}`,
        );
      });
    });
    return;
  }
  for (const m of missing) process.stderr.write(`\nSKIPPED ${m.kind} (${m.reason}): ${name}\n\n`);
  describe.skipIf(missing.length > 0)(name, fn);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where etcd runs: on 127.0.0.1 of this process's namespace, or in a network namespace. */
export interface EtcdServerOptions {
  /** Certificates made with openssl (a CA, etcd's for IP 127.0.0.1, a client's); loopback only. */
  readonly tls?: boolean;
  /**
   * Run inside this network namespace (its real name, for `ip netns exec`), serving `address`:2379 there
   * (`endpoint`, for daemons in namespaces that reach the address) and a unix socket in the directory
   * (`clientEndpoint`, for this process, etcdctl and the writer).
   */
  readonly netns?: { readonly name: string; readonly address: string };
  /**
   * The directory for the data (`data/`) and the log (`etcd.stderr.log`), kept by destroy(), which then
   * removes only `data/` (a test harness's directory keeps the log of a failed run); default: a new
   * temporary directory, removed by destroy().
   */
  readonly dir?: string;
}

/** The client port inside a namespace of its own (no one else listens there). */
const NETNS_CLIENT_PORT = 2379;
/** The unix socket's name: etcd makes `unix://<host>` relative to its working directory. */
const UNIX_SOCKET = 'etcd.sock:0';

/**
 * One etcd member, its own data directory; start/stop keep the ports and the data. On 127.0.0.1, or in a
 * network namespace (EtcdServerOptions.netns).
 */
export class EtcdServer {
  private proc: ChildProcess | undefined;
  private client: Etcd3 | undefined;
  /** What etcd wrote on stderr (its log), for failures. */
  log = '';

  private constructor(
    readonly dir: string,
    /** destroy() removes the whole directory (made here), or only its data (given). */
    private readonly ownDir: boolean,
    readonly clientPort: number,
    readonly peerPort: number,
    /** With TLS: the client's files (CA, certificate, key); etcd requires a client certificate. */
    readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | undefined,
    readonly netns: { readonly name: string; readonly address: string } | undefined,
  ) {}

  static async create(opts: EtcdServerOptions = {}): Promise<EtcdServer> {
    if (opts.tls === true && opts.netns !== undefined) {
      throw new Error('EtcdServer: TLS is made for 127.0.0.1 only, not for a network namespace');
    }
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tern-etcd-'));
    mkdirSync(dir, { recursive: true });
    if (opts.netns !== undefined) {
      // a namespace of etcd's own: fixed ports, nothing else listens there
      return new EtcdServer(dir, ownDir, NETNS_CLIENT_PORT, NETNS_CLIENT_PORT + 1, undefined, opts.netns);
    }
    const clientPort = await freePort('127.0.0.1');
    let peerPort = await freePort('127.0.0.1');
    while (peerPort === clientPort) peerPort = await freePort('127.0.0.1');
    return new EtcdServer(
      dir,
      ownDir,
      clientPort,
      peerPort,
      opts.tls ? makeCertificates(dir) : undefined,
      undefined,
    );
  }

  /** The endpoint the daemons are given (`--calico-etcd`): on 127.0.0.1, or the namespace's address. */
  get endpoint(): string {
    const host = this.netns?.address ?? '127.0.0.1';
    return `${this.tls ? 'https' : 'http'}://${host}:${this.clientPort}`;
  }

  /**
   * The endpoint this process reaches (etcdctl, the etcd3 client): `endpoint`, or for etcd in a
   * namespace its unix socket (`unix:///...`, a form both etcdctl and grpc-js take).
   */
  get clientEndpoint(): string {
    return this.netns === undefined ? this.endpoint : `unix://${join(this.dir, UNIX_SOCKET)}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /**
   * An etcd3 client on `clientEndpoint` for the test's own writes (one per server, closed by stop());
   * its first call opens the connection, so a test that times a write makes one call before.
   */
  writer(): Etcd3 {
    const t = this.tls;
    this.client ??= new Etcd3({
      hosts: [this.clientEndpoint],
      ...(t
        ? {
            credentials: {
              rootCertificate: readFileSync(t.ca),
              certChain: readFileSync(t.cert),
              privateKey: readFileSync(t.key),
            },
          }
        : {}),
    });
    return this.client;
  }

  /** Starts etcd and waits (bounded) until it answers. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.proc) throw new Error('etcd already running');
    const client = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const tls = this.tls
      ? [
          '--cert-file',
          join(this.dir, 'server.crt'),
          '--key-file',
          join(this.dir, 'server.key'),
          '--client-cert-auth',
          '--trusted-ca-file',
          this.tls.ca,
        ]
      : [];
    const args = [
      '--data-dir',
      join(this.dir, 'data'),
      '--listen-client-urls',
      this.netns === undefined ? client : `${client},unix://${UNIX_SOCKET}`,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `default=${peer}`,
      ...tls,
    ];
    const [file, argv] =
      this.netns === undefined ? [ETCD, args] : ['ip', ['netns', 'exec', this.netns.name, ETCD, ...args]];
    // the working directory holds the unix socket
    const p = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], cwd: this.dir });
    const logFile = this.ownDir ? undefined : join(this.dir, 'etcd.stderr.log');
    p.stderr?.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
      if (logFile !== undefined) appendFileSync(logFile, d);
    });
    this.proc = p;
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`etcd exited (${p.exitCode}):\n${this.log}`);
      const r = await this.etcdctl(['endpoint', 'health'], 2000).catch(() => undefined);
      if (r !== undefined) return;
      if (Date.now() > end) throw new Error(`etcd did not answer within ${timeoutMs} ms:\n${this.log}`);
      await sleep(100);
    }
  }

  /** SIGTERM by PID (SIGKILL after 10 s); waits for the exit. Closes the writer. */
  async stop(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  /** Stops etcd and removes its directory (a given directory: only its data). */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.ownDir ? this.dir : join(this.dir, 'data'), { recursive: true, force: true });
  }

  /** `ETCDCTL_API=3 etcdctl --endpoints <this> ...`; resolves with stdout, rejects on failure. */
  etcdctl(args: readonly string[], timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        ETCDCTL,
        [
          '--endpoints',
          this.clientEndpoint,
          '--dial-timeout',
          '2s',
          ...(this.tls ? ['--cacert', this.tls.ca, '--cert', this.tls.cert, '--key', this.tls.key] : []),
          ...args,
        ],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`etcdctl ${args.join(' ')}: ${stderr || err.message}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** `etcdctl put` of each entry, in order. */
  async put(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (const [k, v] of entries) await this.etcdctl(['put', k, v]);
  }

  /** The current revision of the store. */
  async revision(): Promise<number> {
    const out = await this.etcdctl(['get', '/', '-w', 'json', '--limit', '1']);
    return Number((JSON.parse(out) as { header: { revision: number | string } }).header.revision);
  }

  /** Compacts the history up to the current revision (a watch from an older one is then cancelled). */
  async compact(): Promise<number> {
    const rev = await this.revision();
    await this.etcdctl(['compact', String(rev)]);
    return rev;
  }
}

/** openssl is there (for the TLS test). */
export function opensslAvailable(): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 5000 });
  return r.error === undefined && r.status === 0;
}

/** A CA, a server certificate for IP 127.0.0.1 and a client certificate, in `dir`; the client's files. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000, cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=tern-test-ca',
  ]);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(['req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.crt`),
      '-days',
      '2',
      '-extfile',
      f(`${who}.ext`),
    ]);
  }
  return { ca: f('ca.crt'), cert: f('client.crt'), key: f('client.key') };
}

/** Kind -> the plural in the key (libcalico-go model/resource.go registerResourceInfo, lowercased). */
const PLURALS: Readonly<Record<string, string>> = {
  BGPConfiguration: 'bgpconfigurations',
  BGPPeer: 'bgppeers',
  Node: 'nodes',
  IPPool: 'ippools',
  BGPFilter: 'bgpfilters',
  FelixConfiguration: 'felixconfigurations',
};

type Raw = Record<string, unknown>;
const isMapping = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The etcd entries calicoctl would write for the resources in YAML text (several documents, Lists):
 * what clientv3/resources.go resourceToKVPair stores, json.Marshal field order (kind, apiVersion first).
 */
export function calicoEntries(text: string, prefix = '/calico'): [string, string][] {
  const out: [string, string][] = [];
  const items: unknown[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    const v: unknown = doc.toJS();
    if (isMapping(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
      items.push(...v.items);
    } else if (v !== null && v !== undefined) items.push(v);
  }
  for (const item of items) {
    if (!isMapping(item) || typeof item.kind !== 'string' || !isMapping(item.metadata)) continue;
    const { resourceVersion: _rv, selfLink: _sl, ...metadata } = item.metadata;
    const name = String(metadata.name);
    const spec = isMapping(item.spec) ? item.spec : {};
    if (item.kind === 'BlockAffinity') {
      // model.BlockAffinityKey / model.BlockAffinity (what IPAM writes in etcd mode)
      const cidr = String(spec.cidr);
      const type = typeof spec.type === 'string' && spec.type !== '' ? spec.type : 'host';
      const version = cidr.includes(':') ? 6 : 4;
      const deleted = spec.deleted === true || spec.deleted === 'true';
      out.push([
        `${prefix}/ipam/v2/${type}/${String(spec.node)}/ipv${version}/block/${cidr.replace('/', '-')}`,
        JSON.stringify({ state: spec.state ?? '', deleted }),
      ]);
      continue;
    }
    const plural = PLURALS[item.kind];
    if (plural === undefined) continue;
    const value: Raw = { kind: item.kind, apiVersion: 'projectcalico.org/v3', metadata, spec };
    if (item.status !== undefined) value.status = item.status;
    out.push([`${prefix}/resources/v3/projectcalico.org/${plural}/${name}`, JSON.stringify(value)]);
  }
  return out;
}

/**
 * A cluster of two nodes, a (127.0.0.1) and b (127.0.0.2), one pool and a block affine to a, as resource
 * YAML; `bgp` is the default BGPConfiguration's spec (`listenPort: 1179, ...`).
 */
export function twoNodes(bgp: string): string {
  return `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {${bgp}}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 10.244.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: a, uid: 4e7b0d2c-9a61-4b2f-bf0e-1a2b3c4d5e61, creationTimestamp: "2025-03-04T09:12:40Z"}
spec: {bgp: {ipv4Address: 127.0.0.1/8}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: b}
spec: {bgp: {ipv4Address: 127.0.0.2/8}}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: a-10-244-1-0-26}
spec: {node: a, cidr: 10.244.1.0/26, state: confirmed, deleted: "false"}
`;
}

/** The entries of every YAML file of a fixture directory, in name order. */
export function fixtureEntries(texts: readonly string[], prefix = '/calico'): [string, string][] {
  return texts.flatMap((t) => calicoEntries(t, prefix));
}

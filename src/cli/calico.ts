// `tern calico render --calico <path> --node <name>` (or `--calico-etcd <endpoints>`): the native config
// that Calico resources give a node, printed as YAML for review (warnings and errors on stderr; exit 1 on
// any error). And the Calico feed of `tern run --calico <path> --node <name>` (or `--calico-etcd`): the
// same rendering at start and whenever the resources change.

import type { CalicoResources, CalicoSource, RenderedConfig } from '../config/calico/index.js';
import {
  CalicoError,
  type CalicoIssue,
  EtcdCalicoSource,
  type EtcdSourceOptions,
  FileCalicoSource,
  formatCalicoIssue,
  renderCalico,
} from '../config/calico/index.js';
import { DEFAULTS } from '../config/types.js';
import type { ConfigFeed } from './feed.js';

/** Calico's etcd datastore (`--calico-etcd`); the ETCD_* variables of calico-node are the defaults. */
export interface CalicoEtcdOptions {
  /** `http://127.0.0.1:2379,...`; default the ETCD_ENDPOINTS environment variable. */
  readonly endpoints?: string;
  /** Key prefix; default `/calico`. */
  readonly prefix?: string;
  /** PEM files; defaults ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface CalicoOptions {
  /** A file or a directory of Calico resources; or, instead, `etcd`. */
  readonly calico?: string;
  readonly etcd?: CalicoEtcdOptions;
  /** This node's name (calico-node's NODENAME); default the NODENAME environment variable. */
  readonly node?: string;
  /** CALICO_ROUTER_ID: an IPv4 address or `hash`; default the CALICO_ROUTER_ID environment variable. */
  readonly routerId?: string;
  readonly controlSocket?: string;
  readonly birdSocket?: string;
  readonly bird6Socket?: string;
  /** false: do not write routes to the kernel (`--no-kernel-write`). */
  readonly kernelWrite?: boolean;
  /** `--metrics [address:]port`: the Prometheus endpoint (native `metrics`). */
  readonly metrics?: string;
  /** Seconds between stat checks of the resources (the safety net behind fs.watch); 0: none. */
  readonly pollSeconds?: number;
}

/** The node name, or the message that says how to give it. */
function nodeName(opts: CalicoOptions): string | undefined {
  const n = opts.node ?? process.env.NODENAME;
  return n === undefined || n === '' ? undefined : n;
}

const NO_NODE = '--node <name> is required (or set NODENAME, as for calico-node)';

const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
};

/** The etcd source's options from the flags and calico-node's environment variables; throws an Error. */
function etcdOptions(etcd: CalicoEtcdOptions, node: string, say: (line: string) => void): EtcdSourceOptions {
  const endpoints = (etcd.endpoints ?? env('ETCD_ENDPOINTS') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) {
    throw new Error(
      '--calico-etcd needs the etcd endpoints (http://127.0.0.1:2379,...), or set ETCD_ENDPOINTS',
    );
  }
  const ca = etcd.ca ?? env('ETCD_CA_CERT_FILE');
  const cert = etcd.cert ?? env('ETCD_CERT_FILE');
  const key = etcd.key ?? env('ETCD_KEY_FILE');
  const tls = {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
  return {
    endpoints,
    node,
    ...(etcd.prefix !== undefined ? { prefix: etcd.prefix } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    say,
  };
}

function render(
  resources: CalicoResources,
  source: string,
  opts: CalicoOptions,
  node: string,
): RenderedConfig {
  const routerId = opts.routerId ?? process.env.CALICO_ROUTER_ID;
  const control = {
    ...(opts.controlSocket !== undefined ? { socket: opts.controlSocket } : {}),
    ...(opts.birdSocket !== undefined ? { birdSocket: opts.birdSocket } : {}),
    ...(opts.bird6Socket !== undefined ? { bird6Socket: opts.bird6Socket } : {}),
  };
  return renderCalico(resources, {
    node,
    source,
    ...(routerId !== undefined && routerId !== '' ? { routerId } : {}),
    ...(Object.keys(control).length > 0 ? { control } : {}),
    ...(opts.kernelWrite === false ? { kernelWrite: false } : {}),
    ...(opts.metrics !== undefined ? { metrics: metricsEndpoint(opts.metrics) } : {}),
  });
}

/**
 * `--metrics`: `9473`, `0.0.0.0:9473` or `[::]:9473`. The native schema checks the address and the
 * port (its message names `metrics`); only the shape is read here.
 */
export function metricsEndpoint(text: string): { address?: string; port?: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(text);
  if (!m) {
    throw new CalicoError([
      {
        path: '',
        message: `--metrics: expected [address:]port (9473, 0.0.0.0:9473, [::]:9473), got ${JSON.stringify(text)}`,
      },
    ]);
  }
  const address = m[1] ?? m[2];
  return { ...(address !== undefined ? { address } : {}), port: Number(m[3]) };
}

/** `tern calico render`: exit 0 with the YAML on `out`, or 1 with every problem on `err`. */
export async function runCalicoRender(
  opts: CalicoOptions,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const node = nodeName(opts);
  if (node === undefined) {
    err(`tern calico render: ${NO_NODE}`);
    return 1;
  }
  let rendered: RenderedConfig;
  try {
    if (opts.etcd) {
      // one consistent read, no retries: a command that waits for an absent etcd helps nobody
      const source = new EtcdCalicoSource(etcdOptions(opts.etcd, node, () => {}));
      try {
        rendered = render(await source.readOnce(), source.description, opts, node);
      } finally {
        await source.close();
      }
    } else {
      const source = new FileCalicoSource(opts.calico ?? '');
      rendered = render(source.current(), source.description, opts, node);
    }
  } catch (e) {
    if (e instanceof CalicoError) {
      for (const i of e.issues) err(formatCalicoIssue(i));
      return 1;
    }
    if (opts.etcd && e instanceof Error) {
      err(`tern calico render: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const w of rendered.warnings) err(`warning: ${formatCalicoIssue(w)}`);
  out(rendered.text.trimEnd());
  return 0;
}

/**
 * The config of `tern run --calico` / `--calico-etcd`: rendered from the resources at start and on every
 * reload; a change of the resources calls `onChange` only when the rendered config differs. Warnings, and
 * the etcd source's changes of state, go to `warn`.
 */
export function calicoFeed(opts: CalicoOptions, warn: (s: string) => void): ConfigFeed {
  const node = nodeName(opts);
  let source: CalicoSource | undefined;
  let unusable = new Error(NO_NODE);
  try {
    if (node !== undefined) {
      source = opts.etcd
        ? new EtcdCalicoSource(etcdOptions(opts.etcd, node, warn))
        : new FileCalicoSource(opts.calico ?? '', { pollSeconds: opts.pollSeconds ?? 2 });
    }
  } catch (e) {
    unusable = e instanceof Error ? e : new Error(String(e)); // no endpoints, a TLS file missing: load says so
  }
  let lastText: string | undefined;
  let lastWarnings = '';
  // the etcd source hands out the same object until something changes: rendered once per change (the
  // watch callback's comparison, then the reload's load)
  let memo: { resources: CalicoResources; rendered: RenderedConfig } | undefined;
  const rendered = (resources: CalicoResources, s: CalicoSource, n: string): RenderedConfig => {
    if (memo?.resources === resources) return memo.rendered;
    const r = render(resources, s.description, opts, n);
    memo = { resources, rendered: r };
    const warnings = r.warnings.map((w: CalicoIssue) => `warning: ${formatCalicoIssue(w)}`).join('\n');
    if (warnings !== lastWarnings && warnings !== '') warn(warnings);
    lastWarnings = warnings;
    return r;
  };
  const status = source?.status?.bind(source);
  return {
    file: opts.calico ?? source?.description ?? 'etcd',
    ...(opts.etcd ? { controlSocket: opts.controlSocket ?? DEFAULTS.controlSocket } : {}),
    load: async () => {
      if (node === undefined || source === undefined) throw unusable;
      const r = rendered(await source.load(), source, node);
      lastText = r.text;
      return r.config;
    },
    check: () => {
      try {
        if (node === undefined || source === undefined) throw unusable;
        rendered(source.current(), source, node);
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    watch: (onChange) => {
      if (node === undefined || source === undefined) return () => {};
      return source.watch(() => {
        let text: string | undefined;
        try {
          text = rendered(source.current(), source, node).text;
        } catch {
          text = undefined; // broken now: the reload says why and keeps the running config
        }
        if (text === undefined || text !== lastText) onChange('Calico resources changed');
      });
    },
    ...(status ? { status } : {}),
    close: async () => {
      await source?.close?.();
    },
  };
}

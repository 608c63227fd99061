// Reading Calico resources: `calicoctl get -o yaml` / `kubectl get -o yaml` text (several YAML documents,
// `List` documents with `items`) -> checked, typed resources. Pure: text in, resources and issues out.
//
// Kinds read: BGPConfiguration, BGPPeer, Node, IPPool, BlockAffinity (the IPAM block affinities), and
// BGPFilter (only to know which filters exist: a peer that uses one is refused, see translate.ts), in
// apiVersion projectcalico.org/v3 or crd.projectcalico.org/v1. Other Calico kinds are skipped with a
// warning. Field shapes follow projectcalico/calico api/pkg/apis/projectcalico/v3/{bgpconfig,bgppeer,
// ippool,blockaffinity,bgpfilter}.go and libcalico-go/lib/apis/internalapi/node.go; an unknown field is an
// error (tern cannot know what it would change), with a "did you mean".
//
// YAML is read as calicoctl reads it (go-yaml v2 through sigs.k8s.io/yaml): YAML 1.1 scalars, so
// `yes`/`on` are booleans and `0777` is octal, but `64512:100` stays a string (go-yaml v2 has no base 60).
// A boolean or a number where Calico wants a string (a label value, a name) becomes its text, as
// sigs.k8s.io/yaml does: `route-reflector: yes` is the label value "true".

import {
  type DocumentOptions,
  type ParseOptions,
  parseAllDocuments,
  type SchemaOptions,
  type Tags,
} from 'yaml';
import { formatIpv4Key, formatIpv6Key, parseIpv4Prefix, parseIpv6Prefix } from '../../bgp/messages/prefix.js';
import { describe, suggestKey } from '../validate.js';
import { goRound, type IpText, parseAsNumberText, parseGoDuration, parseIp, splitHostPort } from './go.js';
import type { CalicoIssue, Origin } from './issues.js';
import { type Labels, parseSelector, type Selector, SelectorError } from './selector.js';

export const CALICO_API_VERSIONS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'] as const;

export interface ResourceMeta {
  readonly name: string;
  readonly labels: Labels;
  readonly origin: Origin;
}

/** A node address as Calico stores it: `10.0.0.1/24` (address and subnet) or `10.0.0.1`. */
export interface NodeAddress extends IpText {
  /** The subnet ("10.0.0.0/24"), when a length was given. */
  readonly network?: string;
}

export interface CalicoNode extends ResourceMeta {
  readonly kind: 'Node';
  /** `spec.bgp`; absent: the node takes no part in BGP. */
  readonly bgp?: {
    readonly asNumber?: number;
    readonly ipv4Address?: NodeAddress;
    readonly ipv6Address?: NodeAddress;
    readonly routeReflectorClusterID?: string;
  };
  readonly wireguard?: { readonly ipv4?: string; readonly ipv6?: string };
}

export interface Community {
  readonly name: string;
  readonly value: string;
}

export interface PrefixAdvertisement {
  readonly cidr: Prefix;
  readonly communities: readonly string[];
}

export interface Prefix {
  /** Canonical: host bits zero, RFC 5952. */
  readonly prefix: string;
  readonly family: 4 | 6;
  readonly length: number;
}

export type ProgramClusterRoutes = 'Enabled' | 'Disabled' | 'EnabledIPIPOnly' | 'EnabledNoEncapOnly';

export interface BgpConfigurationSpec {
  readonly logSeverityScreen?: string;
  readonly nodeToNodeMeshEnabled?: boolean;
  readonly asNumber?: number;
  readonly serviceLoadBalancerIPs: readonly Prefix[];
  readonly serviceExternalIPs: readonly Prefix[];
  readonly serviceClusterIPs: readonly Prefix[];
  readonly serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  readonly communities: readonly Community[];
  /** Absent: not set (a per-node configuration then takes the global one). */
  readonly prefixAdvertisements?: readonly PrefixAdvertisement[];
  readonly listenPort?: number;
  /** `nodeMeshPassword` is set (tern cannot use it). */
  readonly nodeMeshPassword: boolean;
  /** Seconds, rounded as confd rounds them. */
  readonly nodeMeshMaxRestartTime?: number;
  readonly bindMode?: 'None' | 'NodeIP';
  readonly ignoredInterfaces: readonly string[];
  readonly localWorkloadPeeringIPV4?: string;
  readonly localWorkloadPeeringIPV6?: string;
  readonly programClusterRoutes?: ProgramClusterRoutes;
  readonly ipv4NormalRoutePriority?: number;
  readonly ipv6NormalRoutePriority?: number;
  /** The fields present in the resource (for "Calico ignores this here" on per-node configurations). */
  readonly present: readonly string[];
}

export interface CalicoBgpConfiguration extends ResourceMeta {
  readonly kind: 'BGPConfiguration';
  readonly spec: BgpConfigurationSpec;
}

export interface PeerIp extends IpText {
  /** The host part exactly as written (confd matches it against node addresses as text). */
  readonly host: string;
  /** The port after the address, when one was given. */
  readonly port?: number;
}

export interface BgpPeerSpec {
  readonly node?: string;
  readonly nodeSelector?: Selector;
  readonly peerIP?: PeerIp;
  /** 0: not set. */
  readonly asNumber: number;
  readonly localASNumber?: number;
  readonly peerSelector?: Selector;
  readonly keepOriginalNextHop: boolean;
  readonly nextHopMode?: 'Auto' | 'Self' | 'Keep';
  readonly password: boolean;
  readonly sourceAddress?: 'UseNodeIP' | 'None';
  /** Seconds, rounded. */
  readonly maxRestartTime?: number;
  readonly keepaliveTime?: number;
  readonly numAllowedLocalASNumbers?: number;
  readonly ttlSecurity?: number;
  readonly reachableBy?: string;
  readonly filters: readonly string[];
  readonly localWorkloadSelector?: Selector;
  readonly reversePeering?: 'Auto' | 'Manual';
}

export interface CalicoBgpPeer extends ResourceMeta {
  readonly kind: 'BGPPeer';
  readonly spec: BgpPeerSpec;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface CalicoIpPool extends ResourceMeta {
  readonly kind: 'IPPool';
  readonly cidr: Prefix;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly disabled: boolean;
  readonly disableBGPExport: boolean;
  /** 0: not set (26 for IPv4, 122 for IPv6). */
  readonly blockSize: number;
}

export interface CalicoBlockAffinity extends ResourceMeta {
  readonly kind: 'BlockAffinity';
  readonly state: '' | 'confirmed' | 'pending' | 'pendingDeletion';
  readonly node: string;
  readonly type: string;
  readonly cidr: Prefix;
  readonly deleted: boolean;
}

export interface CalicoBgpFilter extends ResourceMeta {
  readonly kind: 'BGPFilter';
  /** Number of rules per list. */
  readonly rules: {
    readonly importV4: number;
    readonly exportV4: number;
    readonly importV6: number;
    readonly exportV6: number;
  };
}

export type CalicoResource =
  | CalicoNode
  | CalicoBgpConfiguration
  | CalicoBgpPeer
  | CalicoIpPool
  | CalicoBlockAffinity
  | CalicoBgpFilter;

/** Everything a source read: the resources by kind, and what was skipped. */
export interface CalicoResources {
  readonly bgpConfigurations: readonly CalicoBgpConfiguration[];
  readonly bgpPeers: readonly CalicoBgpPeer[];
  readonly nodes: readonly CalicoNode[];
  readonly ipPools: readonly CalicoIpPool[];
  readonly blockAffinities: readonly CalicoBlockAffinity[];
  readonly bgpFilters: readonly CalicoBgpFilter[];
  /** Documents skipped (other kinds), and similar notes. */
  readonly warnings: readonly CalicoIssue[];
}

export const EMPTY_RESOURCES: CalicoResources = {
  bgpConfigurations: [],
  bgpPeers: [],
  nodes: [],
  ipPools: [],
  blockAffinities: [],
  bgpFilters: [],
  warnings: [],
};

export interface ReadResult {
  readonly resources: readonly CalicoResource[];
  readonly errors: readonly CalicoIssue[];
  readonly warnings: readonly CalicoIssue[];
}

type Raw = Readonly<Record<string, unknown>>;

function isMapping(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** YAML 1.1 as go-yaml v2 reads it: without base-60 numbers and timestamps. */
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  prettyErrors: false,
  uniqueKeys: true,
  customTags: (tags: Tags): Tags =>
    tags.filter(
      (t) => typeof t === 'string' || (t.format !== 'TIME' && t.tag !== 'tag:yaml.org,2002:timestamp'),
    ),
};

/** Reads one file's text (`file` names it in messages). */
export function readCalicoText(text: string, file: string): ReadResult {
  const errors: CalicoIssue[] = [];
  const warnings: CalicoIssue[] = [];
  const resources: CalicoResource[] = [];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number): { line: number; col: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lineStarts[lo]! + 1 };
  };
  const docs = parseAllDocuments(text, YAML_OPTIONS);
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const origin: Origin = { file, document: i + 1 };
    const syntax = [...doc.errors, ...doc.warnings];
    if (syntax.length > 0) {
      for (const e of syntax) errors.push({ origin, path: '', message: e.message, ...position(e.pos[0]) });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      errors.push({ origin, path: '', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (a trailing ---)
    const r = new Reader(origin);
    r.document(value, resources);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
  });
  return { resources, errors, warnings };
}

/**
 * Reads one resource that is already a value (JSON.parse of a datastore entry: Calico's etcd datastore
 * stores each resource as the JSON of its v3 object), with the same checks as `readCalicoText`.
 */
export function readCalicoValue(value: unknown, origin: Origin): ReadResult {
  const resources: CalicoResource[] = [];
  const r = new Reader(origin);
  r.single(value, resources);
  return { resources, errors: r.errors, warnings: r.warnings };
}

/**
 * Groups resources by kind; the same kind and name twice is an error naming both places. Resources come
 * out in name order (Calico's own order is a Go map's, which has none).
 */
export function collectResources(
  resources: readonly CalicoResource[],
  warnings: readonly CalicoIssue[] = [],
): { resources: CalicoResources; errors: CalicoIssue[] } {
  const errors: CalicoIssue[] = [];
  const seen = new Map<string, CalicoResource>();
  const unique: CalicoResource[] = [];
  for (const r of resources) {
    const key = `${r.kind}/${r.name}`;
    const first = seen.get(key);
    if (first) {
      const o = first.origin;
      errors.push({
        origin: r.origin,
        resource: `${r.kind} ${r.name}`,
        path: 'metadata.name',
        message: `duplicate ${r.kind} ${JSON.stringify(r.name)} (also ${o.file}${o.document > 0 ? `, document ${o.document}` : ''}${o.item !== undefined ? `, items[${o.item}]` : ''})`,
      });
      continue;
    }
    seen.set(key, r);
    unique.push(r);
  }
  unique.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const of = <K extends CalicoResource['kind']>(kind: K): Extract<CalicoResource, { kind: K }>[] =>
    unique.filter((r): r is Extract<CalicoResource, { kind: K }> => r.kind === kind);
  return {
    resources: {
      bgpConfigurations: of('BGPConfiguration'),
      bgpPeers: of('BGPPeer'),
      nodes: of('Node'),
      ipPools: of('IPPool'),
      blockAffinities: of('BlockAffinity'),
      bgpFilters: of('BGPFilter'),
      warnings,
    },
    errors,
  };
}

const KINDS = ['BGPConfiguration', 'BGPPeer', 'Node', 'IPPool', 'BlockAffinity', 'BGPFilter'] as const;
type Kind = (typeof KINDS)[number];

const BGP_CONFIGURATION_KEYS = [
  'logSeverityScreen',
  'nodeToNodeMeshEnabled',
  'asNumber',
  'serviceLoadBalancerIPs',
  'serviceExternalIPs',
  'serviceClusterIPs',
  'serviceLoadBalancerAggregation',
  'communities',
  'prefixAdvertisements',
  'listenPort',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
  'bindMode',
  'ignoredInterfaces',
  'localWorkloadPeeringIPV4',
  'localWorkloadPeeringIPV6',
  'programClusterRoutes',
  'ipv4NormalRoutePriority',
  'ipv6NormalRoutePriority',
] as const;

const BGP_PEER_KEYS = [
  'node',
  'nodeSelector',
  'peerIP',
  'asNumber',
  'localASNumber',
  'peerSelector',
  'keepOriginalNextHop',
  'nextHopMode',
  'password',
  'sourceAddress',
  'maxRestartTime',
  'keepaliveTime',
  'numAllowedLocalASNumbers',
  'ttlSecurity',
  'reachableBy',
  'filters',
  'localWorkloadSelector',
  'reversePeering',
] as const;

const IP_POOL_KEYS = [
  'cidr',
  'vxlanMode',
  'ipipMode',
  'natOutgoing',
  'disabled',
  'disableBGPExport',
  'blockSize',
  'nodeSelector',
  'namespaceSelector',
  'allowedUses',
  'assignmentMode',
] as const;

const NODE_SPEC_KEYS = [
  'bgp',
  'ipv4VXLANTunnelAddr',
  'vxlanTunnelMACAddr',
  'ipv6VXLANTunnelAddr',
  'vxlanTunnelMACAddrV6',
  'orchRefs',
  'wireguard',
  'addresses',
  'interfaces',
] as const;
const NODE_BGP_KEYS = [
  'asNumber',
  'ipv4Address',
  'ipv6Address',
  'ipv4IPIPTunnelAddr',
  'routeReflectorClusterID',
] as const;

/** Reads the documents of one file, with the origin and resource in every issue. */
class Reader {
  readonly errors: CalicoIssue[] = [];
  readonly warnings: CalicoIssue[] = [];
  private origin: Origin;
  private resource: string | undefined;

  constructor(origin: Origin) {
    this.origin = origin;
  }

  private issue(path: string, message: string): CalicoIssue {
    return {
      origin: this.origin,
      ...(this.resource !== undefined ? { resource: this.resource } : {}),
      path,
      message,
    };
  }

  error(path: string, message: string): void {
    this.errors.push(this.issue(path, message));
  }

  warn(path: string, message: string): void {
    this.warnings.push(this.issue(path, message));
  }

  expected(path: string, what: string, got: unknown, note = ''): void {
    this.error(path, `expected ${what}, got ${describe(got)}${note === '' ? '' : ` ${note}`}`);
  }

  /** A mapping whose unknown keys are reported; undefined (reported) when it is not a mapping. */
  mapping(path: string, v: unknown, what: string, known: readonly string[] | null): Raw | undefined {
    if (!isMapping(v)) {
      this.expected(path, what, v);
      return undefined;
    }
    if (known) {
      for (const key of Object.keys(v)) {
        if (known.includes(key)) continue;
        const hint = suggestKey(key, known);
        this.error(
          at(path, key),
          hint
            ? `unknown field (did you mean ${hint}?)`
            : `unknown field (tern does not know what it would change; known fields: ${known.join(', ')})`,
        );
      }
    }
    return v;
  }

  // ---- documents ----

  document(value: unknown, out: CalicoResource[]): void {
    const kind = isMapping(value) ? value.kind : undefined;
    const items = isMapping(value) ? value.items : undefined;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) {
      const base = this.origin;
      items.forEach((item, i) => {
        this.origin = { ...base, item: i };
        this.resource = undefined;
        this.single(item, out);
      });
      this.origin = base;
      this.resource = undefined;
      return;
    }
    this.single(value, out);
  }

  single(value: unknown, out: CalicoResource[]): void {
    const o = this.mapping(
      '',
      value,
      'a Calico resource (a mapping with apiVersion, kind, metadata, spec)',
      null,
    );
    if (!o) return;
    const { kind, apiVersion } = o;
    if (typeof kind !== 'string' || kind === '') {
      this.expected('kind', 'the kind of resource (BGPPeer, Node, ...)', kind);
      return;
    }
    const name = this.name(o.metadata);
    this.resource = name === undefined ? kind : `${kind} ${name}`;
    const calico =
      typeof apiVersion === 'string' && (CALICO_API_VERSIONS as readonly string[]).includes(apiVersion);
    if (!calico) {
      if (kind === 'Node' && apiVersion === 'v1') {
        this.error(
          'apiVersion',
          'a Kubernetes Node (apiVersion v1), not a Calico Node: give tern `calicoctl get nodes -o yaml` (apiVersion projectcalico.org/v3)',
        );
      } else if (typeof apiVersion !== 'string') {
        this.expected('apiVersion', `one of ${CALICO_API_VERSIONS.join(', ')}`, apiVersion);
      } else {
        this.warn(
          '',
          `skipped: apiVersion ${apiVersion} is not Calico's (${CALICO_API_VERSIONS.join(', ')})`,
        );
      }
      return;
    }
    if (!(KINDS as readonly string[]).includes(kind)) {
      this.warn('', `skipped: tern reads ${KINDS.join(', ')}; ${kind} does not change what BGP does`);
      return;
    }
    for (const key of Object.keys(o)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
        this.error(key, 'unknown field (a resource has apiVersion, kind, metadata, spec and status)');
      }
    }
    if (name === undefined) return;
    const labels = this.labels(o.metadata);
    const meta = { name, labels, origin: this.origin };
    const spec = o.spec === undefined || o.spec === null ? {} : o.spec;
    const r = this.resourceOf(kind as Kind, meta, spec);
    if (r) out.push(r);
  }

  resourceOf(kind: Kind, meta: ResourceMeta, spec: unknown): CalicoResource | undefined {
    switch (kind) {
      case 'BGPConfiguration': {
        const s = this.bgpConfiguration(spec);
        return s && { kind, ...meta, spec: s };
      }
      case 'BGPPeer': {
        const s = this.bgpPeer(spec);
        return s && { kind, ...meta, spec: s };
      }
      case 'Node':
        return this.node(meta, spec);
      case 'IPPool':
        return this.ipPool(meta, spec);
      case 'BlockAffinity':
        return this.blockAffinity(meta, spec);
      case 'BGPFilter':
        return this.bgpFilter(meta, spec);
    }
  }

  name(metadata: unknown): string | undefined {
    const m = this.mapping('metadata', metadata, 'a mapping with the name of the resource', null);
    if (!m) return undefined;
    const name = this.text('metadata.name', m.name, 'the name of the resource');
    if (name === '') this.expected('metadata.name', 'the name of the resource', m.name);
    return name === '' ? undefined : name;
  }

  labels(metadata: unknown): Labels {
    const out: Record<string, string> = {};
    if (!isMapping(metadata) || metadata.labels === undefined || metadata.labels === null) return out;
    const l = this.mapping('metadata.labels', metadata.labels, 'a mapping of labels', null);
    if (!l) return out;
    for (const [k, v] of Object.entries(l)) {
      const s = this.text(`metadata.labels.${k}`, v, 'a label value');
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  // ---- scalars ----

  /** A string; a boolean or number becomes its text, as sigs.k8s.io/yaml does for string fields. */
  text(path: string, v: unknown, what = 'a string'): string | undefined {
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
    this.expected(path, what, v);
    return undefined;
  }

  optText(o: Raw, key: string, path: string, what?: string): string | undefined {
    if (o[key] === undefined || o[key] === null) return undefined;
    const s = this.text(at(path, key), o[key], what);
    return s === '' ? undefined : s;
  }

  bool(o: Raw, key: string, path: string): boolean | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.expected(at(path, key), 'true or false', v);
    return undefined;
  }

  integer(o: Raw, key: string, path: string, min: number, max: number): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.expected(at(path, key), `an integer ${min}..${max}`, v);
    return undefined;
  }

  choice<T extends string>(o: Raw, key: string, path: string, options: readonly T[]): T | undefined {
    const v = o[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    this.expected(at(path, key), `one of ${options.join(', ')}`, v);
    return undefined;
  }

  /** numorstring.ASNumber: a number, or a string "64512" / "1.10". 0 is "not set". */
  asNumber(o: Raw, key: string, path: string): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const what = 'an AS number 0..4294967295 (or "high.low")';
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
    if (typeof v === 'string') {
      const n = parseAsNumberText(v);
      if (n !== undefined) return n;
    }
    this.expected(at(path, key), what, v);
    return undefined;
  }

  /** A metav1.Duration ("120s", "2m"), in seconds rounded as confd rounds them. */
  duration(o: Raw, key: string, path: string): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const seconds = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (seconds === undefined || seconds < 0) {
      this.expected(
        at(path, key),
        'a duration such as "120s", "2m" or "1m30s" (Go syntax, quoted or not)',
        v,
        typeof v === 'number' ? '(a bare number has no unit: write "120s")' : '',
      );
      return undefined;
    }
    return goRound(seconds);
  }

  selector(o: Raw, key: string, path: string): Selector | undefined {
    const text = this.optText(o, key, path, 'a selector');
    if (text === undefined) return undefined;
    try {
      return parseSelector(text);
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      this.error(at(path, key), e.message);
      return undefined;
    }
  }

  ip(path: string, v: unknown, family?: 4 | 6): IpText | undefined {
    const s = this.text(path, v);
    if (s === undefined) return undefined;
    const ip = parseIp(s);
    const what =
      family === undefined ? 'an IP address' : family === 4 ? 'an IPv4 address' : 'an IPv6 address';
    if (!ip || (family !== undefined && ip.family !== family)) {
      this.expected(path, what, v);
      return undefined;
    }
    return ip;
  }

  /** A prefix; host bits set are an error that says which prefix was probably meant. */
  prefix(path: string, v: unknown, what = 'a CIDR (address/length)'): Prefix | undefined {
    const s = this.text(path, v);
    if (s === undefined) return undefined;
    const p = readPrefix(s);
    if (!p) {
      this.expected(path, what, v);
      return undefined;
    }
    if (p.masked !== s && p.masked !== canonicalText(s)) {
      this.expected(path, `${what} with no host bits set`, v, `(did you mean ${p.masked}?)`);
      return undefined;
    }
    return { prefix: p.masked, family: p.family, length: p.length };
  }

  /** `10.0.0.1/24` or `10.0.0.1` (Go's ParseCIDROrIP), of one family. */
  nodeAddress(path: string, v: unknown, family: 4 | 6): NodeAddress | undefined {
    const s = this.text(path, v);
    if (s === undefined || s === '') return undefined;
    const slash = s.indexOf('/');
    const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
    const what = `an ${family === 4 ? 'IPv4' : 'IPv6'} address, with its subnet length (${family === 4 ? '10.0.0.1/24' : 'fd00::1/64'}) or without`;
    if (!ip || ip.family !== family) {
      this.expected(path, what, v);
      return undefined;
    }
    if (slash < 0) return ip;
    const p = readPrefix(s);
    if (!p) {
      this.expected(path, what, v);
      return undefined;
    }
    return { ...ip, network: p.masked };
  }

  list(o: Raw, key: string, path: string): readonly unknown[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.expected(at(path, key), 'a list', v);
    return [];
  }

  // ---- kinds ----

  bgpConfiguration(spec: unknown): BgpConfigurationSpec | undefined {
    const path = 'spec';
    const o = this.mapping(path, spec, 'a mapping (the BGPConfiguration spec)', BGP_CONFIGURATION_KEYS);
    if (!o) return undefined;
    const logSeverityScreen = this.optText(o, 'logSeverityScreen', path);
    if (
      logSeverityScreen !== undefined &&
      !/^(trace|debug|info|warning|error|fatal)$/i.test(logSeverityScreen)
    ) {
      this.expected(
        'spec.logSeverityScreen',
        'one of Trace, Debug, Info, Warning, Error, Fatal',
        logSeverityScreen,
      );
    }
    const ranges = (key: string): Prefix[] => {
      const out: Prefix[] = [];
      this.list(o, key, path).forEach((item, i) => {
        const p = `${path}.${key}[${i}]`;
        const m = this.mapping(p, item, 'a mapping {cidr}', ['cidr']);
        if (!m || m.cidr === undefined || m.cidr === null || m.cidr === '') return; // Calico skips empty ones
        const c = this.prefix(`${p}.cidr`, m.cidr);
        if (c) out.push(c);
      });
      return out;
    };
    const communities: Community[] = [];
    this.list(o, 'communities', path).forEach((item, i) => {
      const p = `${path}.communities[${i}]`;
      const m = this.mapping(p, item, 'a mapping {name, value}', ['name', 'value']);
      if (!m) return;
      const name = this.optText(m, 'name', p);
      const value = this.optText(m, 'value', p);
      if (name === undefined) this.expected(`${p}.name`, 'the name of the community', m.name);
      if (value === undefined || !/^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$/.test(value)) {
        this.expected(`${p}.value`, 'a community "aa:nn" or a large community "aa:nn:mm"', m.value);
      } else if (name !== undefined) communities.push({ name, value });
    });
    let prefixAdvertisements: PrefixAdvertisement[] | undefined;
    if (o.prefixAdvertisements !== undefined && o.prefixAdvertisements !== null) {
      prefixAdvertisements = [];
      this.list(o, 'prefixAdvertisements', path).forEach((item, i) => {
        const p = `${path}.prefixAdvertisements[${i}]`;
        const m = this.mapping(p, item, 'a mapping {cidr, communities}', ['cidr', 'communities']);
        if (!m) return;
        const cidr = this.prefix(`${p}.cidr`, m.cidr);
        const list: string[] = [];
        this.list(m, 'communities', p).forEach((c, j) => {
          const s = this.text(`${p}.communities[${j}]`, c, 'a community value or the name of one');
          if (s !== undefined) list.push(s);
        });
        if (cidr) prefixAdvertisements!.push({ cidr, communities: list });
      });
    }
    const ignoredInterfaces: string[] = [];
    this.list(o, 'ignoredInterfaces', path).forEach((item, i) => {
      const s = this.text(`${path}.ignoredInterfaces[${i}]`, item, 'an interface name or pattern');
      if (s !== undefined) ignoredInterfaces.push(s);
    });
    const v4 = o.localWorkloadPeeringIPV4;
    const v6 = o.localWorkloadPeeringIPV6;
    const lw4 =
      v4 === undefined || v4 === null || v4 === ''
        ? undefined
        : this.ip('spec.localWorkloadPeeringIPV4', v4, 4);
    const lw6 =
      v6 === undefined || v6 === null || v6 === ''
        ? undefined
        : this.ip('spec.localWorkloadPeeringIPV6', v6, 6);
    const password = o.nodeMeshPassword;
    if (password !== undefined && password !== null) {
      this.mapping('spec.nodeMeshPassword', password, 'a mapping {secretKeyRef: {name, key}}', [
        'secretKeyRef',
      ]);
    }
    const optional = <T>(key: string, value: T | undefined): Record<string, T> =>
      value === undefined ? {} : { [key]: value };
    return {
      ...optional('logSeverityScreen', logSeverityScreen),
      ...optional('nodeToNodeMeshEnabled', this.bool(o, 'nodeToNodeMeshEnabled', path)),
      ...optional('asNumber', this.asNumber(o, 'asNumber', path)),
      serviceLoadBalancerIPs: ranges('serviceLoadBalancerIPs'),
      serviceExternalIPs: ranges('serviceExternalIPs'),
      serviceClusterIPs: ranges('serviceClusterIPs'),
      ...optional(
        'serviceLoadBalancerAggregation',
        this.choice(o, 'serviceLoadBalancerAggregation', path, ['Enabled', 'Disabled'] as const),
      ),
      communities,
      ...optional('prefixAdvertisements', prefixAdvertisements),
      ...optional(
        'listenPort',
        o.listenPort === 0 ? undefined : this.integer(o, 'listenPort', path, 1, 65535),
      ),
      nodeMeshPassword: password !== undefined && password !== null,
      ...optional('nodeMeshMaxRestartTime', this.duration(o, 'nodeMeshMaxRestartTime', path)),
      ...optional('bindMode', this.choice(o, 'bindMode', path, ['None', 'NodeIP'] as const)),
      ignoredInterfaces,
      ...optional('localWorkloadPeeringIPV4', lw4?.address),
      ...optional('localWorkloadPeeringIPV6', lw6?.address),
      ...optional(
        'programClusterRoutes',
        this.choice(o, 'programClusterRoutes', path, [
          'Enabled',
          'Disabled',
          'EnabledIPIPOnly',
          'EnabledNoEncapOnly',
        ] as const),
      ),
      ...optional('ipv4NormalRoutePriority', this.integer(o, 'ipv4NormalRoutePriority', path, 1, 2147483646)),
      ...optional('ipv6NormalRoutePriority', this.integer(o, 'ipv6NormalRoutePriority', path, 1, 2147483646)),
      present: Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null),
    } as BgpConfigurationSpec;
  }

  bgpPeer(spec: unknown): BgpPeerSpec | undefined {
    const path = 'spec';
    const o = this.mapping(path, spec, 'a mapping (the BGPPeer spec)', BGP_PEER_KEYS);
    if (!o) return undefined;
    const before = this.errors.length;
    const node = this.optText(o, 'node', path);
    const nodeSelector = this.selector(o, 'nodeSelector', path);
    const peerSelector = this.selector(o, 'peerSelector', path);
    const localWorkloadSelector = this.selector(o, 'localWorkloadSelector', path);
    let peerIP: PeerIp | undefined;
    const rawIP = this.optText(o, 'peerIP', path);
    if (rawIP !== undefined) {
      const { host, port } = splitHostPort(rawIP);
      const ip = parseIp(host);
      if (!ip) {
        this.expected(
          'spec.peerIP',
          'an IP address, optionally with a port (10.0.0.1, 10.0.0.1:179, fd00::1, [fd00::1]:179)',
          o.peerIP,
        );
      } else if (port !== undefined && !(port >= 0 && port <= 65535)) {
        this.expected('spec.peerIP', 'a port 1..65535 after the address', o.peerIP);
      } else {
        peerIP = { ...ip, host, ...(port ? { port } : {}) };
      }
    }
    const asNumber = this.asNumber(o, 'asNumber', path) ?? 0;
    const localASNumber = this.asNumber(o, 'localASNumber', path);
    const keepOriginalNextHop = this.bool(o, 'keepOriginalNextHop', path) ?? false;
    const nextHopMode = this.choice(o, 'nextHopMode', path, ['Auto', 'Self', 'Keep'] as const);
    const password = o.password !== undefined && o.password !== null;
    if (password)
      this.mapping('spec.password', o.password, 'a mapping {secretKeyRef: {name, key}}', ['secretKeyRef']);
    const sourceAddress = this.choice(o, 'sourceAddress', path, ['UseNodeIP', 'None'] as const);
    const maxRestartTime = this.duration(o, 'maxRestartTime', path);
    const keepaliveTime = this.duration(o, 'keepaliveTime', path);
    const numAllowedLocalASNumbers = this.integer(o, 'numAllowedLocalASNumbers', path, 0, 2147483647);
    const ttlSecurity = this.integer(o, 'ttlSecurity', path, 0, 255);
    let reachableBy: string | undefined;
    const rb = this.optText(o, 'reachableBy', path);
    if (rb !== undefined) {
      const ip = this.ip('spec.reachableBy', rb);
      if (ip && peerIP && ip.family !== peerIP.family) {
        this.expected('spec.reachableBy', `an IPv${peerIP.family} address like peerIP`, rb);
      } else if (ip) reachableBy = ip.address;
    }
    const filters: string[] = [];
    this.list(o, 'filters', path).forEach((f, i) => {
      const s = this.text(`spec.filters[${i}]`, f, 'the name of a BGPFilter');
      if (s !== undefined) filters.push(s);
    });
    const reversePeering = this.choice(o, 'reversePeering', path, ['Auto', 'Manual'] as const);

    // the CRD's cross-field rules (api/pkg/apis/projectcalico/v3/bgppeer.go, XValidation)
    if (node !== undefined && nodeSelector)
      this.error('spec.nodeSelector', 'node and nodeSelector cannot both be set');
    if (rawIP !== undefined && peerSelector)
      this.error('spec.peerSelector', 'peerIP and peerSelector cannot both be set');
    if (peerSelector && asNumber !== 0) {
      this.error(
        'spec.asNumber',
        "asNumber must be empty when peerSelector is set (the selected nodes' AS numbers are used)",
      );
    }
    if (localWorkloadSelector && (rawIP !== undefined || peerSelector)) {
      this.error(
        'spec.localWorkloadSelector',
        'peerIP and peerSelector must be empty when localWorkloadSelector is set',
      );
    }
    if (rb !== undefined && rawIP === undefined)
      this.error('spec.reachableBy', 'reachableBy must be empty when peerIP is empty');
    if (keepOriginalNextHop && nextHopMode !== undefined) {
      this.error(
        'spec.keepOriginalNextHop',
        'keepOriginalNextHop and nextHopMode cannot both be set (keepOriginalNextHop is deprecated: use nextHopMode)',
      );
    }
    if (
      rawIP === undefined &&
      !peerSelector &&
      !localWorkloadSelector &&
      o.peerSelector === undefined &&
      o.localWorkloadSelector === undefined
    ) {
      this.error(
        path,
        'a BGPPeer needs peerIP (an address) or peerSelector (Calico nodes) to say whom to peer with',
      );
    }
    if (this.errors.length > before) return undefined;
    const optional = <T>(key: string, value: T | undefined): Record<string, T> =>
      value === undefined ? {} : { [key]: value };
    return {
      ...optional('node', node),
      ...optional('nodeSelector', nodeSelector),
      ...optional('peerIP', peerIP),
      asNumber,
      ...optional('localASNumber', localASNumber === 0 ? undefined : localASNumber),
      ...optional('peerSelector', peerSelector),
      keepOriginalNextHop,
      ...optional('nextHopMode', nextHopMode),
      password,
      ...optional('sourceAddress', sourceAddress),
      ...optional('maxRestartTime', maxRestartTime),
      ...optional('keepaliveTime', keepaliveTime),
      ...optional('numAllowedLocalASNumbers', numAllowedLocalASNumbers),
      ...optional('ttlSecurity', ttlSecurity),
      ...optional('reachableBy', reachableBy),
      filters,
      ...optional('localWorkloadSelector', localWorkloadSelector),
      ...optional('reversePeering', reversePeering),
    } as BgpPeerSpec;
  }

  node(meta: ResourceMeta, spec: unknown): CalicoNode | undefined {
    const o = this.mapping('spec', spec, 'a mapping (the Node spec)', NODE_SPEC_KEYS);
    if (!o) return undefined;
    const before = this.errors.length;
    let bgp: CalicoNode['bgp'];
    if (o.bgp !== undefined && o.bgp !== null) {
      const b = this.mapping('spec.bgp', o.bgp, 'a mapping (the node BGP spec)', NODE_BGP_KEYS);
      if (b) {
        const asNumber = this.asNumber(b, 'asNumber', 'spec.bgp');
        const ipv4Address = this.nodeAddress('spec.bgp.ipv4Address', b.ipv4Address ?? '', 4);
        const ipv6Address = this.nodeAddress('spec.bgp.ipv6Address', b.ipv6Address ?? '', 6);
        const rr = this.optText(b, 'routeReflectorClusterID', 'spec.bgp');
        if (rr !== undefined) this.ip('spec.bgp.routeReflectorClusterID', rr, 4);
        if (
          b.ipv4IPIPTunnelAddr !== undefined &&
          b.ipv4IPIPTunnelAddr !== null &&
          b.ipv4IPIPTunnelAddr !== ''
        ) {
          this.ip('spec.bgp.ipv4IPIPTunnelAddr', b.ipv4IPIPTunnelAddr, 4);
        }
        bgp = {
          ...(asNumber !== undefined ? { asNumber } : {}),
          ...(ipv4Address ? { ipv4Address } : {}),
          ...(ipv6Address ? { ipv6Address } : {}),
          ...(rr !== undefined ? { routeReflectorClusterID: parseIp(rr)?.address ?? rr } : {}),
        };
      }
    }
    let wireguard: CalicoNode['wireguard'];
    if (o.wireguard !== undefined && o.wireguard !== null) {
      const w = this.mapping(
        'spec.wireguard',
        o.wireguard,
        'a mapping {interfaceIPv4Address, interfaceIPv6Address}',
        ['interfaceIPv4Address', 'interfaceIPv6Address'],
      );
      if (w) {
        const v4 = this.optText(w, 'interfaceIPv4Address', 'spec.wireguard');
        const v6 = this.optText(w, 'interfaceIPv6Address', 'spec.wireguard');
        wireguard = { ...(v4 !== undefined ? { ipv4: v4 } : {}), ...(v6 !== undefined ? { ipv6: v6 } : {}) };
      }
    }
    if (this.errors.length > before) return undefined;
    return { kind: 'Node', ...meta, ...(bgp ? { bgp } : {}), ...(wireguard ? { wireguard } : {}) };
  }

  ipPool(meta: ResourceMeta, spec: unknown): CalicoIpPool | undefined {
    const path = 'spec';
    const o = this.mapping(path, spec, 'a mapping (the IPPool spec)', IP_POOL_KEYS);
    if (!o) return undefined;
    const before = this.errors.length;
    let cidr: Prefix | undefined;
    if (o.cidr === undefined || o.cidr === null || o.cidr === '') {
      this.expected('spec.cidr', 'the pool CIDR (address/length)', o.cidr, '(the field is required)');
    } else cidr = this.prefix('spec.cidr', o.cidr, 'the pool CIDR (address/length)');
    const modes = ['Never', 'Always', 'CrossSubnet'] as const;
    const ipipMode = this.choice(o, 'ipipMode', path, modes) ?? 'Never';
    const vxlanMode = this.choice(o, 'vxlanMode', path, modes) ?? 'Never';
    this.bool(o, 'natOutgoing', path);
    const disabled = this.bool(o, 'disabled', path) ?? false;
    const disableBGPExport = this.bool(o, 'disableBGPExport', path) ?? false;
    const blockSize = this.integer(o, 'blockSize', path, 0, 128) ?? 0;
    this.selector(o, 'nodeSelector', path);
    this.selector(o, 'namespaceSelector', path);
    this.list(o, 'allowedUses', path).forEach((u, i) => {
      if (!['Workload', 'Tunnel', 'LoadBalancer'].includes(u as string)) {
        this.expected(`spec.allowedUses[${i}]`, 'one of Workload, Tunnel, LoadBalancer', u);
      }
    });
    this.choice(o, 'assignmentMode', path, ['Automatic', 'Manual'] as const);
    if (cidr) {
      if (ipipMode !== 'Never' && vxlanMode !== 'Never') {
        this.error('spec.ipipMode', 'ipipMode and vxlanMode cannot both be enabled');
      }
      if (cidr.family === 6 && ipipMode !== 'Never') {
        this.error('spec.ipipMode', 'IPIP is not supported on IPv6 pools (IP-in-IP carries IPv4)');
      }
      const [lo, hi] = cidr.family === 4 ? [20, 32] : [116, 128];
      if (blockSize !== 0 && (blockSize < lo || blockSize > hi)) {
        this.expected('spec.blockSize', `a block size ${lo}..${hi} for an IPv${cidr.family} pool`, blockSize);
      }
      const effective = blockSize === 0 ? (cidr.family === 4 ? 26 : 122) : blockSize;
      if (!disabled && cidr.length > effective) {
        this.error(
          'spec.cidr',
          `the pool (/${cidr.length}) is smaller than its blocks (/${effective}); it must be at least one block`,
        );
      }
    }
    if (!cidr || this.errors.length > before) return undefined;
    return { kind: 'IPPool', ...meta, cidr, ipipMode, vxlanMode, disabled, disableBGPExport, blockSize };
  }

  blockAffinity(meta: ResourceMeta, spec: unknown): CalicoBlockAffinity | undefined {
    const path = 'spec';
    const o = this.mapping(path, spec, 'a mapping (the BlockAffinity spec)', [
      'state',
      'node',
      'type',
      'cidr',
      'deleted',
    ]);
    if (!o) return undefined;
    const before = this.errors.length;
    const state = this.choice(o, 'state', path, ['confirmed', 'pending', 'pendingDeletion'] as const) ?? '';
    const node = this.optText(o, 'node', path);
    if (node === undefined) this.expected('spec.node', 'the name of the node the block is affine to', o.node);
    const type = this.optText(o, 'type', path) ?? 'host';
    const cidr = this.prefix('spec.cidr', o.cidr, 'the block CIDR (address/length)');
    let deleted = false;
    // projectcalico.org/v3 has a boolean; crd.projectcalico.org/v1 a string ("true"/"false")
    const d = o.deleted;
    if (typeof d === 'boolean') deleted = d;
    else if (typeof d === 'string' && /^(true|false|)$/i.test(d)) deleted = d.toLowerCase() === 'true';
    else if (d !== undefined && d !== null) this.expected('spec.deleted', 'true or false', d);
    if (!cidr || node === undefined || this.errors.length > before) return undefined;
    return { kind: 'BlockAffinity', ...meta, state, node, type, cidr, deleted };
  }

  bgpFilter(meta: ResourceMeta, spec: unknown): CalicoBgpFilter | undefined {
    const o = this.mapping('spec', spec, 'a mapping (the BGPFilter spec)', [
      'exportV4',
      'importV4',
      'exportV6',
      'importV6',
    ]);
    if (!o) return undefined;
    const n = (k: string): number => this.list(o, k, 'spec').length;
    return {
      kind: 'BGPFilter',
      ...meta,
      rules: {
        importV4: n('importV4'),
        exportV4: n('exportV4'),
        importV6: n('importV6'),
        exportV6: n('exportV6'),
      },
    };
  }
}

function canonicalText(s: string): string {
  const slash = s.indexOf('/');
  const ip = parseIp(s.slice(0, slash));
  return ip ? `${ip.address}${s.slice(slash)}` : s;
}

/** A prefix with host bits allowed: its masked canonical text, or undefined. */
export function readPrefix(s: string): { masked: string; family: 4 | 6; length: number } | undefined {
  if (!s.includes('/')) return undefined;
  if (s.includes(':')) {
    const key = parseIpv6Prefix(s, true);
    if (key === undefined) return undefined;
    const masked = formatIpv6Key(key);
    return { masked, family: 6, length: Number(masked.slice(masked.indexOf('/') + 1)) };
  }
  const key = parseIpv4Prefix(s, true);
  if (key === undefined) return undefined;
  const masked = formatIpv4Key(key);
  return { masked, family: 4, length: Number(masked.slice(masked.indexOf('/') + 1)) };
}

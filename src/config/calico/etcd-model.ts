// Calico's etcd v3 datastore: which keys hold what calico/node's BGP syncer reads, and how an entry becomes
// a resource. Pure: keys and values in, resources and issues out. From projectcalico/calico
// libcalico-go/lib/backend/model (resource.go, block_affinity.go, keys.go), the etcdv3 backend
// (libcalico-go/lib/backend/etcdv3: etcdv3.go, conversion.go), clientv3/resources.go (what is stored) and
// syncersv1/bgpsyncer/bgpsyncer.go (what calico/node watches):
//
//   /calico/resources/v3/projectcalico.org/<plural>/<name>      the v3 resource as JSON (json.Marshal of
//       the Go object: kind, apiVersion "projectcalico.org/v3", metadata without resourceVersion, spec);
//       plurals bgpconfigurations, bgppeers, nodes, ippools, bgpfilters (Calico registers "BGPFilters"
//       and lowercases it). Nodes are libcalico-go's internal Node, with the same JSON as
//       `calicoctl get nodes -o yaml`.
//   /calico/ipam/v2/host/<host>/ipv4/block/<cidr with / as ->     a block affinity: {"state": "confirmed"
//       | "pending" | "pendingDeletion" | "", "deleted": false}; an empty value is {} (older IPAM wrote
//       none). The host and the block are in the key. calico/node reads only its own host's affinities.
//
// The resource JSON goes through the same reader as resource files (resources.ts), so a value is checked
// exactly as the same resource in a file would be; a block affinity is made into the BlockAffinity
// resource (spec.node, spec.cidr, spec.type from the key, state and deleted from the value) the
// translator already reads.

import type { Origin } from './issues.js';
import { type ReadResult, readCalicoValue } from './resources.js';

/** Calico's default key prefix; everything below it is Calico's own layout. */
export const DEFAULT_ETCD_PREFIX = '/calico';

/** The v3 kinds the BGP syncer lists, by their plural in the key. */
export const ETCD_RESOURCE_PLURALS = {
  bgpconfigurations: 'BGPConfiguration',
  bgppeers: 'BGPPeer',
  nodes: 'Node',
  ippools: 'IPPool',
  bgpfilters: 'BGPFilter',
} as const;

export type EtcdPlural = keyof typeof ETCD_RESOURCE_PLURALS;

/** `/calico` from `/calico/` or `calico`: no trailing slash, one leading slash. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

const RESOURCES = 'resources/v3/projectcalico.org';

/** The key of a v3 resource: `/calico/resources/v3/projectcalico.org/bgppeers/<name>`. */
export function resourceKey(prefix: string, plural: EtcdPlural, name: string): string {
  return `${normalizePrefix(prefix)}/${RESOURCES}/${plural}/${name}`;
}

/** The key prefix of this host's block affinities: `/calico/ipam/v2/host/<host>/`. */
export function affinityPrefix(prefix: string, host: string): string {
  return `${normalizePrefix(prefix)}/ipam/v2/host/${host}/`;
}

/** Every key prefix tern reads and watches for one node (each ends in `/`). */
export function etcdPrefixes(prefix: string, node: string): string[] {
  const p = normalizePrefix(prefix);
  return [
    ...Object.keys(ETCD_RESOURCE_PLURALS).map((plural) => `${p}/${RESOURCES}/${plural}/`),
    affinityPrefix(p, node),
  ];
}

type Raw = Readonly<Record<string, unknown>>;

const isMapping = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The reader of one prefix's entries: an etcd entry -> the resource it holds (with its issues), or
 * undefined for a key outside the layout (Calico's KeyFromDefaultPath skips those too). The key is the
 * origin of every issue.
 */
export function etcdEntryReader(prefix: string): (key: string, value: string) => ReadResult | undefined {
  const p = escapeRegExp(normalizePrefix(prefix));
  const resource = new RegExp(`^${p}/resources/v3/projectcalico[.]org/([^/]+)/([^/]+)$`);
  // block_affinity.go: ^/?calico/ipam/v2/(@|host|virtual)/([^/]+)/ipv./block/([^/]+)$; tern reads host
  const affinity = new RegExp(`^${p}/ipam/v2/host/([^/]+)/ipv([46])/block/([^/]+)$`);
  return (key, value) => {
    const origin: Origin = { file: key, document: 0 };
    const fail = (message: string): ReadResult => ({
      resources: [],
      errors: [{ origin, path: '', message }],
      warnings: [],
    });
    const json = (text: string): { value: unknown } | { error: string } => {
      try {
        return { value: JSON.parse(text) };
      } catch (e) {
        return { error: `the value is not JSON: ${e instanceof Error ? e.message : String(e)}` };
      }
    };
    const res = resource.exec(key);
    if (res) {
      const kind = (ETCD_RESOURCE_PLURALS as Readonly<Record<string, string>>)[res[1]!];
      if (kind === undefined) return undefined;
      const parsed = json(value);
      if ('error' in parsed) return fail(parsed.error);
      if (isMapping(parsed.value) && parsed.value.kind !== kind) {
        return fail(`the value is a ${JSON.stringify(parsed.value.kind)}, but the key is one of ${kind}s`);
      }
      return readCalicoValue(parsed.value, origin);
    }
    const aff = affinity.exec(key);
    if (!aff) return undefined;
    const host = aff[1]!;
    const version = aff[2]!;
    const block = aff[3]!;
    const parsed = value === '' ? { value: {} } : json(value);
    if ('error' in parsed) return fail(parsed.error);
    // json.Unmarshal into model.BlockAffinity{State string; Deleted bool}: other fields are ignored
    const v = parsed.value;
    if (!isMapping(v)) return fail('expected a block affinity, {"state": ..., "deleted": ...}');
    if (v.state !== undefined && v.state !== null && typeof v.state !== 'string') {
      return fail(`state: expected a string, got ${JSON.stringify(v.state)}`);
    }
    if (v.deleted !== undefined && v.deleted !== null && typeof v.deleted !== 'boolean') {
      return fail(`deleted: expected true or false, got ${JSON.stringify(v.deleted)}`);
    }
    const r = readCalicoValue(
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'BlockAffinity',
        metadata: { name: `${host}-${block.replace(/[.:]/g, '-')}` },
        // the key has the block with its "/" written "-" (strings.Replace(cidr, "/", "-", 1))
        spec: {
          node: host,
          type: 'host',
          cidr: block.replace('-', '/'),
          state: v.state ?? '',
          deleted: v.deleted ?? false,
        },
      },
      origin,
    );
    const b = r.resources[0];
    if (b?.kind === 'BlockAffinity' && String(b.cidr.family) !== version) {
      return fail(`an IPv${b.cidr.family} block under ipv${version}`);
    }
    return r;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Calico's own confd test cases (fixtures/calico/confd, copied from projectcalico/calico): each input is
// translated for the node kube-master, and tern's peers, router id, listener, AS and originated blocks must
// be exactly those of the bird.cfg / bird6.cfg / bird*_aggr.cfg that confd rendered. Cases that use what
// tern cannot do must be refused, naming the resource and the field.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CalicoError,
  collectResources,
  type NativeDocument,
  readCalicoText,
  renderCalico,
} from '../../src/config/calico/index.js';
import { type BirdPeer, parseBirdConfig, parseBlockRoutes } from './bird-cfg.js';

const DIR = fileURLToPath(new URL('../../fixtures/calico/confd/', import.meta.url));
const read = (f: string): string => readFileSync(`${DIR}${f}`, 'utf8');

/** Cases tern refuses, and the message that says why. */
const REFUSED: Readonly<Record<string, RegExp>> = {
  'mesh.communities': /spec\.prefixAdvertisements\[0\]\.communities\[2\]: 100:555:107 is a large community/,
  'reachable_by.global_peers': /spec\.reachableBy: BIRD's static route .*10\.225\.0\.4\/32 via 10\.224\.0\.1/,
  'reachable_by.route_reflectors': /spec\.reachableBy:/,
  'ttl_security.global': /spec\.ttlSecurity: TTL security .*peerings Global_10_192_0_3, Global_10_192_0_4/,
  'ttl_security.explicit_node': /BGPPeer ttl-explicit-peer-1\): spec\.ttlSecurity:/,
  'ttl_security.peer_selector': /spec\.ttlSecurity:/,
};

const ROUTER_ID: Readonly<Record<string, string>> = { 'mesh.hash': 'hash' };

const cases = readdirSync(DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const affinities = readCalicoText(read('block-affinities.yaml'), 'block-affinities.yaml');

function render(name: string) {
  const input = readCalicoText(read(`${name}/input.yaml`), `${name}/input.yaml`);
  expect(input.errors).toEqual([]);
  const { resources, errors } = collectResources([...input.resources, ...affinities.resources]);
  expect(errors).toEqual([]);
  const routerId = ROUTER_ID[name];
  return renderCalico(resources, { node: 'kube-master', ...(routerId ? { routerId } : {}) });
}

/** tern's peers of one family, told as the BIRD statements they stand for. */
function asBird(doc: NativeDocument, family: 'ipv4-unicast' | 'ipv6-unicast'): BirdPeer[] {
  return doc.peers
    .filter((p) => p.families.includes(family))
    .map((p) => ({
      name: p.name,
      address: p.address,
      ...(p.port !== undefined ? { port: p.port } : {}),
      asn: p.asn,
      ...(p.localAsn !== undefined ? { localAsn: p.localAsn } : {}),
      ...(p.localAddress !== undefined ? { sourceAddress: p.localAddress } : {}),
      passive: p.passive === true,
      ...(p.gracefulRestart ? { restartTime: p.gracefulRestart.restartTime } : {}),
      ...(p.keepaliveTime !== undefined ? { keepaliveTime: p.keepaliveTime } : {}),
      rrClient: p.rrClient === true,
      ...(p.rrClient ? { rrClusterId: doc.reflector?.clusterId ?? '' } : {}),
      ...(p.allowOwnAs !== undefined ? { allowLocalAs: p.allowOwnAs } : {}),
      ...(p.nextHopSelf ? { nextHop: p.nextHopSelf } : {}),
      ttlSecurity: false,
      password: false,
    }));
}

describe("Calico's confd golden cases", () => {
  it('has the cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of cases) {
    const refused = REFUSED[name];
    if (refused) {
      it(`${name}: refused, naming the field`, () => {
        let message = '';
        try {
          render(name);
        } catch (e) {
          if (!(e instanceof CalicoError)) throw e;
          message = e.message;
        }
        expect(message).toMatch(refused);
        expect(message).toMatch(/tern does not silently ignore it|cannot add it as BIRD would/);
      });
      continue;
    }
    it(`${name}: the same peers, router id, listener and blocks as confd's bird.cfg and bird6.cfg`, () => {
      const { document: doc } = render(name);
      const bird = parseBirdConfig(read(`${name}/bird.cfg`));
      const bird6 = parseBirdConfig(read(`${name}/bird6.cfg`));
      expect(asBird(doc, 'ipv4-unicast')).toEqual(bird.peers);
      expect(asBird(doc, 'ipv6-unicast')).toEqual(bird6.peers);
      expect(doc.routerId).toBe(bird.routerId);
      const asn = bird.asn ?? bird6.asn;
      if (asn !== undefined) expect(doc.asn).toBe(asn);
      expect(doc.listen.port).toBe(bird.listen?.port ?? bird6.listen?.port ?? 179);
      if (bird.listen?.address) expect(doc.listen.address).toBe(bird.listen.address);
      const blocks = [
        ...parseBlockRoutes(read(`${name}/bird_aggr.cfg`)),
        ...parseBlockRoutes(read(`${name}/bird6_aggr.cfg`)),
      ];
      expect(doc.originate.map((o) => o.prefix).sort()).toEqual(blocks.sort());
      // every peer carries one family, as each of BIRD and BIRD6 does
      for (const p of doc.peers) expect(p.families).toHaveLength(1);
    });
  }
});

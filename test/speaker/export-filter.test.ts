// The export filter (config exportFilter) on the wire: three tern speakers over loopback. T (AS 64512,
// the filter Calico's export rules give) has two eBGP neighbours: X (AS 65001) announces a default route,
// a prefix inside the pool, one inside a pool with disableBGPExport, one inside T's own block and a
// foreign one; Y (AS 65002) must get from T only what Calico's BIRD would send it, with the
// prefixAdvertisements' community, and a reload of T's filter must change what Y holds without
// resetting a session.

import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4Key } from '../../src/bgp/messages/prefix.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import type { Peer } from '../../src/speaker/peer.js';
import { Speaker } from '../../src/speaker/speaker.js';
import { waitFor } from '../helpers/speakers.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const T = '127.0.0.1';
const X = '127.0.0.2';
const Y = '127.0.0.3';
const COMMUNITY = ((64512 << 16) + 100) >>> 0;

/** Calico's filter for a node with block 10.244.1.0/26 in pool 10.244.0.0/16, 10.245.0.0/16 not exported. */
const CALICO_FILTER = `
exportFilter:
  - { prefix: 10.245.0.0/16, action: reject }
  - { prefix: 10.244.0.0/16, action: addCommunities, communities: ["64512:100"] }
  - { prefix: 10.244.1.0/26, match: exact, action: accept }
  - { prefix: 10.244.1.0/26, match: longer, action: reject }
  - { prefix: 10.96.0.0/12, action: accept }
  - { prefix: 10.244.0.0/16, action: accept }
  - { action: reject }`;

function yaml(addr: string, asn: number, originate: readonly string[], peers: string, extra = ''): string {
  return `
routerId: 10.0.0.${addr.split('.')[3]}
asn: ${asn}
listen: { address: ${addr}, port: ${PORT} }
holdTime: 9
connectRetryTime: 1
errorWaitTime: [1, 2]
families: [ipv4-unicast]
nextHopResolution: none
originate: [${originate.map((p) => `"${p}"`).join(', ')}]
control: { socket: /tmp/unused-export-${addr}.ctl }
${extra}
peers:
${peers}`;
}

const peerLine = (name: string, address: string, asn: number, local: string): string =>
  `  - { name: ${name}, address: ${address}, port: ${PORT}, asn: ${asn}, localAddress: ${local} }\n`;

const tYaml = (filter: string): string =>
  yaml(
    T,
    64512,
    ['10.244.1.0/26', '10.96.0.0/12'],
    peerLine('X', X, 65001, T) + peerLine('Y', Y, 65002, T),
    filter,
  );

const running: Speaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

async function speaker(text: string, name: string): Promise<Speaker> {
  const sp = new Speaker(parseConfig(text, name), silentLogger());
  running.push(sp);
  await sp.start();
  return sp;
}

function peerOf(sp: Speaker, name: string): Peer {
  const p = [...sp.peers.values()].find((x) => x.config.name === name);
  if (!p) throw new Error(`no peer ${name}`);
  return p;
}

/** What Y holds from T: prefix and whether it carries the community. */
function held(y: Speaker): string[] {
  return peerOf(y, 'T')
    .adjRibIn.routes()
    .map(
      (r) =>
        `${formatIpv4Key(r.prefix as number)}${r.attributes.communities?.includes(COMMUNITY) ? ' 64512:100' : ''}`,
    )
    .sort();
}

describe('export filter over loopback', () => {
  it("sends a peer only what Calico's filter lets through, with the community; a reload changes it in place", async () => {
    const t = await speaker(tYaml(CALICO_FILTER), 't.yaml');
    await speaker(
      yaml(
        X,
        65001,
        ['0.0.0.0/0', '10.244.5.0/26', '10.245.1.0/26', '10.244.1.7/32', '192.0.2.0/24'],
        peerLine('T', T, 64512, X),
      ),
      'x.yaml',
    );
    const y = await speaker(yaml(Y, 65002, [], peerLine('T', T, 64512, Y)), 'y.yaml');
    await waitFor('T has X routes', () => peerOf(t, 'X').adjRibIn.count() === 5);
    await waitFor('Y Established', () => peerOf(y, 'T').state === 'Established');
    await waitFor('Y has 3 routes', () => peerOf(y, 'T').adjRibIn.count() === 3);
    // the block and a pool prefix get the community; the service range is accepted without it;
    // the default route, the disabled pool, the /32 beneath T's block and the foreign prefix stay
    expect(held(y)).toEqual(['10.244.1.0/26 64512:100', '10.244.5.0/26 64512:100', '10.96.0.0/12']);
    const upSince = peerOf(y, 'T').since;

    // no filter: everything goes, nothing is added (no session is reset)
    await t.reload(parseConfig(tYaml(''), 't.yaml'));
    await waitFor('Y has 7 routes', () => peerOf(y, 'T').adjRibIn.count() === 7);
    expect(held(y)).toEqual([
      '0.0.0.0/0',
      '10.244.1.0/26',
      '10.244.1.7/32',
      '10.244.5.0/26',
      '10.245.1.0/26',
      '10.96.0.0/12',
      '192.0.2.0/24',
    ]);
    // and back: the filtered ones are withdrawn, the community comes back
    await t.reload(parseConfig(tYaml(CALICO_FILTER), 't.yaml'));
    await waitFor('Y has 3 routes again', () => peerOf(y, 'T').adjRibIn.count() === 3);
    await waitFor('the community again', () => held(y).filter((r) => r.endsWith('64512:100')).length === 2);
    expect(held(y)).toEqual(['10.244.1.0/26 64512:100', '10.244.5.0/26 64512:100', '10.96.0.0/12']);
    expect(peerOf(y, 'T').since).toBe(upSince);
    expect(peerOf(t, 'X').state).toBe('Established');
  });
});

// Calico's readers of BIRD's control socket, re-implemented line for line from its Go sources
// (projectcalico/calico, master as fetched for issue 12), so that tests run them on tern's output:
//
// - calicoctl/calicoctl/commands/node/status.go: printBIRDPeers, scanBIRDPeers, unmarshalBIRD
//   (`calicoctl node status`);
// - node/pkg/health/bird/bird.go: GetPeers (the same scanner), GRInProgress (`show status`);
// - node/pkg/health/health.go: checkBIRDReady (readiness, `calico-node -bird-ready`) and the -bird-live
//   check (`/bin/birdcl -s /var/run/calico/bird.ctl show status` must print something starting "BIRD").
//
// Each reader connects, writes its command at once (before reading the greeting, as the Go code does),
// and reads lines with a 2 s deadline per line (birdTimeOut).

import { connect } from 'node:net';

/** bgpPeer (status.go, bird.go). */
export interface CalicoPeer {
  readonly PeerIP: string;
  readonly PeerType: string;
  readonly State: string;
  readonly Since: string;
  readonly BGPState: string;
  readonly Info: string;
}

const bgpPeerRegex = /^(Global|Node|Mesh)_(.+)$/;
const bgpTypeMap: Readonly<Record<string, string>> = {
  Global: 'global',
  Mesh: 'node-to-node mesh',
  Node: 'node specific',
};
const birdExpectedHeadings = ['name', 'proto', 'table', 'state', 'since', 'info'];
const BIRD_TIMEOUT_MS = 2000;

/** strings.Fields */
const fields = (s: string): string[] => s.split(/[ \t\n\r\f\v]+/).filter((f) => f !== '');

/** unmarshalBIRD: a peer from a row of the protocol table, or undefined (the Go `false`). */
export function unmarshalBIRD(line: string, ipSep: string): CalicoPeer | undefined {
  const columns = fields(line);
  if (columns.length < 6) return undefined;
  if (columns[1] !== 'BGP') return undefined;
  const sm = bgpPeerRegex.exec(columns[0]!);
  if (!sm) return undefined;
  const PeerType = bgpTypeMap[sm[1]!];
  if (PeerType === undefined) return undefined;
  return {
    PeerIP: sm[2]!.replaceAll('_', ipSep),
    PeerType,
    State: columns[3]!,
    Since: columns[4]!,
    BGPState: columns[5]!,
    Info: columns.length > 6 ? columns.slice(6).join(' ') : '',
  };
}

/**
 * Reads lines from the socket, handing each to `onLine` until it returns 'stop'; rejects on the 2 s
 * deadline (a Go read error) or on what `onLine` throws (the Go code's returned errors).
 */
function readLines(path: string, command: string, onLine: (line: string) => 'next' | 'stop'): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(path);
    let buf = '';
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      if (err) reject(err);
      else resolve();
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new Error('i/o timeout')), BIRD_TIMEOUT_MS);
    };
    c.setEncoding('utf8');
    c.on('connect', () => {
      c.write(`${command}\n`);
      arm();
    });
    c.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0 && !done; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          if (onLine(line) === 'stop') {
            finish();
            return;
          }
        } catch (e) {
          finish(e as Error);
          return;
        }
        arm();
      }
    });
    // bufio.Scanner at EOF: Scan() returns false, Err() is nil
    c.on('end', () => finish());
    c.on('error', (e) => finish(e));
  });
}

/** scanBIRDPeers after writing "show protocols" (status.go printBIRDPeers, bird.go GetPeers). */
export async function scanBIRDPeers(path: string, ipv: '4' | '6'): Promise<CalicoPeer[]> {
  const ipSep = ipv === '6' ? ':' : '.';
  const peers: CalicoPeer[] = [];
  await readLines(path, 'show protocols', (str) => {
    if (str.startsWith('0000')) return 'stop';
    if (str.startsWith('0001')) {
      // BIRD is ready
    } else if (str.startsWith('2002')) {
      const f = fields(str.slice(5));
      if (JSON.stringify(f) !== JSON.stringify(birdExpectedHeadings)) {
        throw new Error('unknown BIRD table output format');
      }
    } else if (str.startsWith('1002')) {
      const p = unmarshalBIRD(str.slice(5), ipSep);
      if (p) peers.push(p);
    } else if (str.startsWith(' ')) {
      const p = unmarshalBIRD(str.slice(1), ipSep);
      if (p) peers.push(p);
    } else {
      throw new Error(`unexpected output line from BIRD: '${str}'`);
    }
    return 'next';
  });
  return peers;
}

/** GRInProgress (bird.go): writes "show status", true on a 0024 line. */
export async function grInProgress(path: string): Promise<boolean> {
  let gr = false;
  await readLines(path, 'show status', (str) => {
    if (str.startsWith('0013')) return 'stop';
    if (str.startsWith('0001') || str.startsWith('1000') || str.startsWith('1011')) return 'next';
    if (str.startsWith('0024')) {
      gr = true;
      return 'stop';
    }
    if (str.startsWith(' ')) return 'next';
    throw new Error(`unexpected output line from BIRD: '${str}'`);
  });
  return gr;
}

/**
 * checkBIRDReady (health.go) without the nodename-file clock: `startingUp` stands for
 * `time.Since(nodename mtime) < thresholdTime`. Resolves when ready, rejects with Calico's message.
 */
export async function checkBIRDReady(path: string, ipv: '4' | '6', startingUp: boolean): Promise<void> {
  const peers = await scanBIRDPeers(path, ipv);
  const s: string[] = [];
  let numEstablishedPeer = 0;
  for (const peer of peers) {
    if (peer.BGPState === 'Established') numEstablishedPeer++;
    else s.push(peer.PeerIP);
  }
  if (peers.length === 0) return;
  if (startingUp) {
    if (s.length > 0) throw new Error(`BGP not established with ${s.join(',')}`);
    if (await grInProgress(path)) throw new Error('graceful restart in progress');
  } else if (numEstablishedPeer === 0) {
    throw new Error(`BGP not established with ${s.join(',')}`);
  }
}

/** The -bird-live check's test of birdcl's output (health.go). */
export function birdLive(birdclOutput: string): boolean {
  return birdclOutput.startsWith('BIRD');
}

/** printPeers (status.go): the rows calicoctl prints, Info = BGPState [+ " " + Info]. */
export function calicoctlRows(peers: readonly CalicoPeer[]): string[][] {
  return peers.map((p) => [
    p.PeerIP,
    p.PeerType,
    p.State,
    p.Since,
    p.Info ? `${p.BGPState} ${p.Info}` : p.BGPState,
  ]);
}

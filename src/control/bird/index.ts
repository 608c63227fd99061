// The BIRD-compatible control sockets of a daemon: control.birdSocket (IPv4, BIRD's bird.ctl) and
// control.bird6Socket (IPv6, bird6.ctl), built for `tern run`.

import type { TernConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { Speaker } from '../../speaker/speaker.js';
import { type BirdConfigure, BirdControlServer } from './server.js';
import { speakerSource } from './source.js';

export type { BirdConfigure, ReloadOutcome } from './server.js';
export { BirdControlServer } from './server.js';

/** What BIRD's greeting and `show status` report: tern's version, and the BIRD whose output it follows. */
export function birdVersion(ternVersion: string): string {
  return `tern-${ternVersion}+birdv1.6.8`;
}

export interface BirdServersOptions {
  readonly version: string;
  readonly configure: BirdConfigure;
  /** When the configuration was last loaded (ms since the epoch). */
  readonly configuredAt: () => number;
}

/** One server per configured BIRD socket (none, one or two), not started. */
export function birdServers(
  config: TernConfig,
  speaker: Speaker,
  log: Logger,
  o: BirdServersOptions,
): BirdControlServer[] {
  const c = config.control;
  const sockets = [
    { family: 'ipv4', path: c.birdSocket, field: 'control.birdSocket' },
    { family: 'ipv6', path: c.bird6Socket, field: 'control.bird6Socket' },
  ] as const;
  const version = birdVersion(o.version);
  const out: BirdControlServer[] = [];
  for (const { family, path, field } of sockets) {
    if (path === undefined) continue;
    const source = speakerSource(speaker, {
      family,
      version,
      configuredAt: o.configuredAt,
      reconfiguring: o.configure.busy,
    });
    out.push(
      new BirdControlServer(path, source, log, {
        version,
        field,
        configure: o.configure,
        ...(c.group === undefined ? {} : { group: c.group }),
      }),
    );
  }
  return out;
}

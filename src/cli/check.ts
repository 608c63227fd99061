// `tern check -c <file> [--json]`: validates a config and prints what tern would run.
// Exit codes: 0 valid (warnings may be printed to err), 1 invalid or unreadable.

import { ConfigError, checkConfigFile, formatIssue } from '../config/load.js';
import { WELL_KNOWN_COMMUNITIES } from '../config/schema.js';
import {
  type ExportRule,
  formatEndpoint,
  type OriginateRoute,
  type PeerConfig,
  type TernConfig,
} from '../config/types.js';

const COMMUNITY_NAMES = new Map(Object.entries(WELL_KNOWN_COMMUNITIES).map(([name, c]) => [c, name]));

export function runCheck(
  path: string,
  out: (s: string) => void,
  err: (s: string) => void,
  /** `--json`: print the resolved config as JSON instead of the summary. */
  json = false,
): number {
  let checked: ReturnType<typeof checkConfigFile>;
  try {
    checked = checkConfigFile(path);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const issue of e.errors) err(formatIssue(e.file, issue));
    return 1;
  }
  for (const w of checked.warnings) err(`warning: ${formatIssue(path, w)}`);
  if (json) out(JSON.stringify(checked.config, null, 2));
  else for (const line of summary(path, checked.config)) out(line);
  return 0;
}

/** `runCheck` with `--json`: the resolved config as JSON on success. */
export function runCheckJson(path: string, out: (s: string) => void, err: (s: string) => void): number {
  return runCheck(path, out, err, true);
}

/** `<file>: OK`, then one line per peer, one per originated prefix and one per export rule. */
export function summary(file: string, config: TernConfig): string[] {
  return [
    `${file}: OK`,
    ...config.peers.map(peerLine),
    ...config.originate.map(originateLine),
    ...config.exportFilter.map(exportRuleLine),
  ];
}

function communityText(c: number): string {
  return COMMUNITY_NAMES.get(c) ?? `${c >>> 16}:${c & 0xffff}`;
}

/** `export reject 10.245.0.0/16`, `export accept 10.244.1.0/26 exact`, `export addCommunities ... 64512:100`, `export reject any` */
export function exportRuleLine(r: ExportRule): string {
  const parts = ['export', r.action, r.prefix ?? 'any'];
  if (r.prefix !== undefined && r.match !== 'orLonger') parts.push(r.match);
  if (r.communities.length > 0) parts.push(r.communities.map(communityText).join(','));
  return parts.join(' ');
}

/** `Mesh_10_0_0_2 10.0.0.2:179 AS 64512 ibgp [passive] ipv4-unicast ipv6-unicast holdTime 90` */
export function peerLine(p: PeerConfig): string {
  const parts = [p.name, formatEndpoint(p.address, p.port), 'AS', String(p.asn), p.ibgp ? 'ibgp' : 'ebgp'];
  if (p.passive) parts.push('passive');
  parts.push(...p.families, 'holdTime', String(p.holdTime));
  return parts.join(' ');
}

/** `originate 10.244.1.0/26 [communities 64512:100,...] [localPref N] [med N]` */
export function originateLine(r: OriginateRoute): string {
  const parts = ['originate', r.prefix];
  if (r.communities.length > 0) {
    parts.push('communities', r.communities.map(communityText).join(','));
  }
  if (r.localPref !== undefined) parts.push('localPref', String(r.localPref));
  if (r.med !== undefined) parts.push('med', String(r.med));
  return parts.join(' ');
}

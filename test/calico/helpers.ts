// Calico resources from YAML text, and what tern makes of them, for the translation tests.

import type { RenderedConfig } from '../../src/config/calico/index.js';
import {
  CalicoError,
  type CalicoResources,
  collectResources,
  formatCalicoIssue,
  type NativeDocument,
  readCalicoText,
  renderCalico,
  type TranslateOptions,
} from '../../src/config/calico/index.js';

/** Resources from YAML texts (one per "file": a.yaml, b.yaml, ...); reading errors throw. */
export function resources(...files: string[]): CalicoResources {
  const all = files.map((text, i) => readCalicoText(text, `${String.fromCharCode(97 + i)}.yaml`));
  const errors = all.flatMap((r) => r.errors);
  if (errors.length > 0) throw new CalicoError(errors);
  const c = collectResources(
    all.flatMap((r) => r.resources),
    all.flatMap((r) => r.warnings),
  );
  if (c.errors.length > 0) throw new CalicoError(c.errors);
  return c.resources;
}

/** Renders YAML documents given as one file (a.yaml); an array is joined in order. */
export function render(yaml: string | string[], opts: TranslateOptions | string): RenderedConfig {
  const text = Array.isArray(yaml) ? yaml.join('') : yaml;
  return renderCalico(resources(text), typeof opts === 'string' ? { node: opts } : opts);
}

export function doc(yaml: string | string[], opts: TranslateOptions | string): NativeDocument {
  return render(yaml, opts).document;
}

/** The error lines (formatted as `tern calico render` prints them); [] when it renders. */
export function errorsOf(yaml: string | string[], opts: TranslateOptions | string): string[] {
  try {
    render(yaml, opts);
    return [];
  } catch (e) {
    if (e instanceof CalicoError) return e.issues.map(formatCalicoIssue);
    throw e;
  }
}

export function warningsOf(yaml: string | string[], opts: TranslateOptions | string): string[] {
  return render(yaml, opts).warnings.map(formatCalicoIssue);
}

/** A Node resource. */
export function node(
  name: string,
  bgp: { v4?: string; v6?: string; as?: number; rr?: string },
  labels: Record<string, string> = {},
): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `\n    ${k}: ${JSON.stringify(v)}`)
    .join('');
  return `---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: ${name}${l ? `\n  labels:${l}` : ''}
spec:
  bgp:${bgp.v4 ? `\n    ipv4Address: ${bgp.v4}` : ''}${bgp.v6 ? `\n    ipv6Address: "${bgp.v6}"` : ''}${bgp.as ? `\n    asNumber: ${bgp.as}` : ''}${bgp.rr ? `\n    routeReflectorClusterID: ${bgp.rr}` : ''}
`;
}

/** `spec` lines indented under `spec:` (each line trimmed unless `keep`). */
function specLines(spec: string, keep = false): string {
  return spec
    .trim()
    .split('\n')
    .map((l) => `  ${keep ? l : l.trim()}`)
    .join('\n');
}

/** A BGPPeer with the given spec (YAML flow mapping body or block lines). */
export function peer(name: string, spec: string): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: ${name}
spec:
${specLines(spec)}
`;
}

export function bgpConfig(spec: string, name = 'default'): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: ${name}
spec:
${specLines(spec, true)}
`;
}

export function pool(name: string, spec: string): string {
  return `---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: ${name}
spec:
${specLines(spec)}
`;
}

export function affinity(
  name: string,
  nodeName: string,
  cidr: string,
  state = 'confirmed',
  extra = '',
): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata:
  name: ${name}
spec:
  node: ${nodeName}
  cidr: ${cidr}
  state: ${state}${extra ? `\n  ${extra}` : ''}
`;
}

/** Peer names of a rendered document. */
export const names = (d: NativeDocument): string[] => d.peers.map((p) => p.name);

// Problems found in Calico resources, and where they came from: the file, the YAML document in it (and the
// item of a `List`), the resource, the field. One line each:
//
//   calico/peers.yaml: document 3 (BGPPeer rack1-tor): spec.peerIP: expected an IP address ..., got "10.0.0"
//   calico/nodes.yaml: document 1, items[2] (Node node-3): spec.bgp.asNumber: expected an AS number ...
//   calico/peers.yaml:4:7: <YAML syntax error>

/**
 * Where a resource was read from. `document` is 1-based; `item` is the index in a List's `items`. A
 * datastore entry (one resource per key) has its key as `file` and document 0.
 */
export interface Origin {
  readonly file: string;
  readonly document: number;
  readonly item?: number;
}

export interface CalicoIssue {
  readonly origin?: Origin;
  /** "BGPPeer rack1-tor" (kind and name), when known. */
  readonly resource?: string;
  /** The field inside the resource ("spec.peerIP"); '' for the resource or document as a whole. */
  readonly path: string;
  readonly message: string;
  /** 1-based position of a YAML syntax error. */
  readonly line?: number;
  readonly col?: number;
}

/** One line per issue, as `tern calico render` prints it. */
export function formatCalicoIssue(issue: CalicoIssue): string {
  const o = issue.origin;
  if (o && issue.line !== undefined) return `${o.file}:${issue.line}:${issue.col ?? 1}: ${issue.message}`;
  const where: string[] = [];
  if (o) {
    if (o.document === 0) where.push(issue.resource ? `${o.file} (${issue.resource})` : o.file);
    else {
      const doc = `document ${o.document}${o.item !== undefined ? `, items[${o.item}]` : ''}`;
      where.push(issue.resource ? `${o.file}: ${doc} (${issue.resource})` : `${o.file}: ${doc}`);
    }
  } else if (issue.resource) where.push(issue.resource);
  if (issue.path !== '') where.push(issue.path);
  where.push(issue.message);
  return where.join(': ');
}

/** Calico resources that cannot be read or cannot be turned into tern's config; every problem at once. */
export class CalicoError extends Error {
  override readonly name = 'CalicoError';
  readonly issues: readonly CalicoIssue[];

  constructor(issues: readonly CalicoIssue[]) {
    super(issues.map(formatCalicoIssue).join('\n'));
    this.issues = Object.freeze([...issues]);
  }
}

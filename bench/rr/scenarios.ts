// The scenarios of bench:rr, as data: how many route-reflector clients, what each announces, when, and
// which churn follows. Every client is iBGP (the DUT's AS) with its own next hop in 100.64.0.0/10
// (bench/loadgen/plan.ts); one monitoring client announces nothing and counts everything.
//
//   S1     200 clients x 64 /26                      announced at once after every session is up ('go')
//   S2     1,000 x 16 /26                             'go'
//   S3     1,500 x 2: a /26 block and a /32 borrowed  'go' (Calico at scale)
//   S4     200 x 64 /26, then churn: client 0 withdraws everything and announces it again; client 1
//          restarts gracefully and comes back with half of its prefixes (the rest must go at its
//          End-of-RIB)
//   S5     10 x 100,000 /32 (bulk), to the monitor    'go'
//   cold   S3's clients, each announcing as soon as its own session is up ('established')
//
// --quick shrinks every scenario (same shape, a few hundred routes) for development.

export const SCENARIO_IDS = ['S1', 'S2', 'S3', 'S4', 'S5', 'cold'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  readonly clients: number;
  readonly prefixesPerClient: number;
  readonly prefixLength: number;
  /** The last prefix of each client is a /32 borrowed from the next client's block (Calico). */
  readonly borrowed: boolean;
  /** `go`: every client announces once every session is up; `established`: each as soon as it is up. */
  readonly announce: 'go' | 'established';
  /** S4's churn after the first convergence. */
  readonly churn: boolean;
}

const FULL: Readonly<Record<ScenarioId, Scenario>> = {
  S1: scenario('S1', '200 clients x 64 prefixes', 200, 64, 26),
  S2: scenario('S2', '1,000 clients x 16 prefixes', 1000, 16, 26),
  S3: {
    ...scenario('S3', 'Calico scale: 1,500 nodes x (/26 block + borrowed /32)', 1500, 2, 26),
    borrowed: true,
  },
  S4: {
    ...scenario('S4', 'churn: withdraw + re-announce, graceful restart (200 x 64)', 200, 64, 26),
    churn: true,
  },
  S5: scenario('S5', 'bulk: 10 clients x 100,000 prefixes, to 1 monitor', 10, 100_000, 32),
  cold: {
    ...scenario('cold', 'cold start: 1,500 x (/26 + /32), announced as each session comes up', 1500, 2, 26),
    borrowed: true,
    announce: 'established',
  },
};

/** Sizes for --quick: seconds per run, the same code paths. */
const QUICK: Readonly<Record<ScenarioId, { clients: number; prefixesPerClient: number }>> = {
  S1: { clients: 20, prefixesPerClient: 8 },
  S2: { clients: 60, prefixesPerClient: 4 },
  S3: { clients: 80, prefixesPerClient: 2 },
  S4: { clients: 20, prefixesPerClient: 8 },
  S5: { clients: 3, prefixesPerClient: 5000 },
  cold: { clients: 80, prefixesPerClient: 2 },
};

function scenario(
  id: ScenarioId,
  title: string,
  clients: number,
  prefixes: number,
  length: number,
): Scenario {
  return {
    id,
    title,
    clients,
    prefixesPerClient: prefixes,
    prefixLength: length,
    borrowed: false,
    announce: 'go',
    churn: false,
  };
}

export function scenarioFor(id: ScenarioId, quick: boolean): Scenario {
  const s = FULL[id];
  if (!quick) return s;
  const q = QUICK[id];
  return { ...s, ...q, title: `${s.title} (quick: ${q.clients} x ${q.prefixesPerClient})` };
}

// The long decoder fuzz: `npm run fuzz` (1,000,000 mutated real messages), `npm run fuzz -- --seed 7
// --iterations 5000000`. The engine is test/helpers/fuzz.ts, the same that test/fuzz/decode-fuzz.test.ts
// runs bounded in `npm test`. Prints the outcome counts and messages/s. Each distinct finding (an
// exception that is not a BgpError, an invalid BgpError, a re-encoding that fails) is printed with its
// hex and stack and saved as fixtures/malformed/fuzz-<kind>-<hash>.hex (test/prop/malformed.test.ts
// replays it from then on; --no-save to skip); then the exit status is 1.
//
// Options: --seed N (default 1), --iterations N (default 1000000), --no-save, --json.

import { parseArgs } from 'node:util';
import { formatFinding, formatStats, loadSeeds, runFuzz, saveFinding } from '../test/helpers/fuzz.js';
import { projectRoot } from '../test/helpers/root.js';
import { machine } from './lib.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    iterations: { type: 'string', default: '1000000' },
    'no-save': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const seed = Number.parseInt(values.seed, 10);
const iterations = Number.parseInt(values.iterations, 10);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
if (!(iterations > 0)) throw new Error(`--iterations must be a positive integer, got ${values.iterations}`);

const root = projectRoot(import.meta.url);
const { seeds, corpusMissing } = loadSeeds(root);
if (corpusMissing) console.error(`warning: ExaBGP corpus left out: ${corpusMissing}`);
const log = (line: string): void => {
  if (!values.json) console.log(line);
};
log(`decoder fuzz: seed ${seed}, ${iterations} messages, ${seeds.length} seed messages`);

const saved: string[] = [];
const stats = runFuzz({
  iterations,
  seed,
  seeds,
  progressEvery: 250_000,
  onProgress: (s) => log(`  ${s.messages} messages, ${Math.round(s.messages / (s.elapsedMs / 1000))} msgs/s`),
  onFinding: (f) => {
    console.error(`FINDING ${formatFinding(f)}`);
    if (!values['no-save']) {
      const path = saveFinding(root, f);
      saved.push(path);
      console.error(`  saved as ${path}`);
    }
  },
});

if (values.json) {
  const { distinct, ...counts } = stats;
  console.log(
    JSON.stringify(
      {
        seed,
        messagesPerSecond: Math.round(stats.messages / (stats.elapsedMs / 1000)),
        ...counts,
        distinct: distinct.map((f) => ({
          kind: f.kind,
          signature: f.signature,
          hex: Buffer.from(f.bytes).toString('hex'),
        })),
        saved,
        machine: machine(),
      },
      null,
      2,
    ),
  );
} else {
  console.log(formatStats(stats));
}
process.exitCode = stats.distinct.length > 0 ? 1 : 0;

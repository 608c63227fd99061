// Where the interop daemons live and whether this machine can run interop tests at all.
// `npm test` runs interop tests when it can; otherwise a test file prints `SKIPPED interop (<reason>)`
// to stderr and skips, unless TERN_REQUIRE_INTEROP=1 (CI), where a missing prerequisite FAILS.
// .ci/install-interop.sh installs everything checked here.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';

export interface InteropPaths {
  bird2: string;
  birdc2: string;
  /** BIRD 1.6 (IPv4 and IPv6 daemons, their CLIs), unpacked privately from Debian's `bird`. */
  bird1: string;
  bird6: string;
  birdc1: string;
  birdc6: string;
  gobgpd: string;
  gobgp: string;
  frrBgpd: string;
  vtysh: string;
  exabgp: string;
}

/** Where install-interop.sh unpacks BIRD 1.6 unless TERN_BIRD1_DIR says otherwise. */
export const DEFAULT_BIRD1_DIR = '/opt/tern-interop/bird1';

export function interopPaths(): InteropPaths {
  const b1 = join(process.env['TERN_BIRD1_DIR'] ?? DEFAULT_BIRD1_DIR, 'usr', 'sbin');
  return {
    bird2: '/usr/sbin/bird',
    birdc2: '/usr/sbin/birdc',
    bird1: join(b1, 'bird'),
    bird6: join(b1, 'bird6'),
    birdc1: join(b1, 'birdc'),
    birdc6: join(b1, 'birdc6'),
    gobgpd: '/usr/bin/gobgpd',
    gobgp: '/usr/bin/gobgp',
    frrBgpd: '/usr/lib/frr/bgpd',
    vtysh: '/usr/bin/vtysh',
    exabgp: '/usr/sbin/exabgp',
  };
}

export type Availability = { ok: true } | { ok: false; reason: string };

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Version line a binary prints (`bird --version` writes to stderr), or undefined if it does not run. */
export function binaryVersion(cmd: string, args: string[] = ['--version']): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return undefined;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const m = /version:?\s*(\d+\.\d+(?:\.\d+)?)/i.exec(text) ?? /(\d+\.\d+\.\d+)/.exec(text);
  return m?.[1];
}

/** Linux, root, and a network namespace can be made (a probe namespace is created and deleted). */
export function netnsAvailable(): Availability {
  if (process.platform !== 'linux') return { ok: false, reason: `platform ${process.platform}, not linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (network namespaces need root)' };
  const probe = `tern-it-${process.pid}-0-probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (add.error !== undefined || add.status !== 0) {
    return {
      ok: false,
      reason: `cannot create a network namespace: ${add.error?.message ?? add.stderr.trim()}`,
    };
  }
  spawnSync('ip', ['netns', 'del', probe], { timeout: 5000 });
  return { ok: true };
}

/**
 * Checks everything the interop tests need: root, working network namespaces, and each daemon binary
 * (BIRD 2, BIRD 1.6 unpacked, GoBGP, FRR bgpd/vtysh, ExaBGP).
 */
export function interopAvailable(): Availability {
  if (process.platform !== 'linux') return { ok: false, reason: `platform ${process.platform}, not linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (network namespaces need root)' };
  const p = interopPaths();
  const missing = (
    [
      ['bird (BIRD 2: apt-get install bird2)', p.bird2],
      ['birdc', p.birdc2],
      [`BIRD 1.6 bird (unpacked into ${p.bird1}: .ci/install-interop.sh)`, p.bird1],
      ['BIRD 1.6 bird6', p.bird6],
      ['BIRD 1.6 birdc', p.birdc1],
      ['BIRD 1.6 birdc6', p.birdc6],
      ['gobgpd (apt-get install gobgpd)', p.gobgpd],
      ['gobgp', p.gobgp],
      ['FRR bgpd (apt-get install frr)', p.frrBgpd],
      ['vtysh', p.vtysh],
      ['exabgp (apt-get install exabgp)', p.exabgp],
    ] as const
  )
    .filter(([, path]) => !executable(path))
    .map(([what]) => what);
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.join(', ')}` };
  const b2 = binaryVersion(p.bird2);
  if (b2 === undefined || !b2.startsWith('2.')) {
    return { ok: false, reason: `${p.bird2} is BIRD ${b2 ?? '?'}, want 2.x (apt-get install bird2)` };
  }
  return netnsAvailable();
}

/** TERN_REQUIRE_INTEROP=1: a missing prerequisite fails the run instead of skipping. */
export function interopRequired(): boolean {
  return process.env['TERN_REQUIRE_INTEROP'] === '1';
}

/**
 * `describe` for interop tests: runs `fn` when interopAvailable(); otherwise prints a loud
 * `SKIPPED interop (<reason>)` to stderr and skips, or, under TERN_REQUIRE_INTEROP=1, registers one
 * failing test that names the reason.
 */
export function describeInterop(name: string, fn: () => void): void {
  describeRequiring('interop', interopAvailable(), name, fn);
}

/**
 * `describe` for tests that need root and network namespaces but no daemon (the kernel tests): the
 * same SKIPPED line and TERN_REQUIRE_INTEROP=1 behaviour as describeInterop.
 */
export function describeNetns(name: string, fn: () => void): void {
  describeRequiring('kernel', netnsAvailable(), name, fn);
}

function describeRequiring(kind: string, a: Availability, name: string, fn: () => void): void {
  if (!a.ok && interopRequired()) {
    describe(name, () => {
      it(`has its ${kind} test prerequisites (TERN_REQUIRE_INTEROP=1)`, () => {
        throw new Error(
          `${kind} tests required but not runnable: ${a.reason}; run .ci/install-interop.sh as root`,
        );
      });
    });
    return;
  }
  if (!a.ok) process.stderr.write(`\nSKIPPED ${kind} (${a.reason}): ${name}\n\n`);
  describe.skipIf(!a.ok)(name, fn);
}

/** Versions of the installed daemons, for reports and docs. */
export function daemonVersions(): Record<string, string | undefined> {
  const p = interopPaths();
  return {
    bird2: binaryVersion(p.bird2),
    bird1: binaryVersion(p.bird1),
    gobgpd: binaryVersion(p.gobgpd),
    frr: binaryVersion(p.frrBgpd),
    exabgp: binaryVersion(p.exabgp),
  };
}

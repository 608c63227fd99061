// `tern demo` as a newcomer runs it: one process, a reflector and three nodes on loopback, no root.
// With --duration it stops by itself (status 0); its output shows every speaker's `show protocols`
// table and routes, every node with the other nodes' blocks through the reflector; its control
// sockets answer `tern show` while it runs and are gone after; Ctrl-C (SIGINT) stops it cleanly.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, cliDaemons, protocolsOf, ROOT, waitLong } from '../helpers/cli-daemons.js';

const rig = cliDaemons('tern-demo-test-');

interface Run {
  readonly code: Promise<number | null>;
  readonly out: () => string;
  readonly err: () => string;
  readonly kill: (signal: NodeJS.Signals) => void;
}

function demo(args: string[]): Run {
  const child = spawn(process.execPath, [...CLI, 'demo', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    code: new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      }),
    ),
    out: () => out,
    err: () => err,
    kill: (signal) => child.kill(signal),
  };
}

/** The last snapshot's section of one speaker: from its heading to the next speaker's. */
function section(out: string, name: string): string {
  const last = out.slice(out.lastIndexOf('--- after '));
  const start = last.indexOf(`\n${name} (`);
  const rest = last.slice(start + 1);
  const next = rest.slice(1).search(/\n(node\d|reflector) \(|\n\n/);
  return next < 0 ? rest : rest.slice(0, next + 1);
}

describe('tern demo', () => {
  it('--duration 5: converges, shows every node the other blocks, exits 0 and removes its sockets', async () => {
    const run = demo(['--duration', '5']);
    expect(await run.code).toBe(0);
    const out = run.out();
    expect(run.err()).toBe('');
    expect(out).toContain('Running for 5 s');
    expect(out).toMatch(/Converged after \d+\.\d s/);

    const rr = section(out, 'reflector');
    for (const n of [11, 12, 13])
      expect(rr).toMatch(
        new RegExp(`Node_127_0_0_${n}\\s+127\\.0\\.0\\.${n}\\s+64512\\s+ibgp\\s+Established`),
      );
    for (const n of [1, 2, 3]) {
      const s = section(out, `node${n}`);
      // the show protocols table: the session with the reflector, 2 routes in, 1 out
      expect(s).toMatch(/^\s+Name\s+Address\s+AS\s+Type\s+State\s+Since\s+Rcvd\s+Sent\s+Info$/m);
      expect(s).toMatch(
        /Global_127_0_0_10\s+127\.0\.0\.10\s+64512\s+ibgp\s+Established\s+\S+\s+2\s+1\s+Established/,
      );
      // its own block, and the two others by way of the reflector, next hop the originating node
      expect(s).toMatch(new RegExp(`10\\.244\\.${n}\\.0/26\\s+self\\s+local`));
      for (const m of [1, 2, 3].filter((x) => x !== n))
        expect(s).toMatch(new RegExp(`10\\.244\\.${m}\\.0/26\\s+127\\.0\\.0\\.1${m}\\s+Global_127_0_0_10`));
    }
    const sockets = [...out.matchAll(/(\/\S+\/(?:node\d|reflector)\.ctl)/g)].map((m) => m[1]!);
    expect(new Set(sockets).size).toBe(4);
    for (const s of sockets) expect(existsSync(s)).toBe(false);
  });

  it('answers tern show on its sockets while it runs, and stops on Ctrl-C with status 0', async () => {
    const run = demo([]);
    const socket = await waitLong(
      'the reflector socket',
      () => /(\/\S+\/reflector\.ctl)/.exec(run.out())?.[1],
    );
    expect(run.out()).toContain('Running until Ctrl-C');
    const peers = await waitLong('3 clients up', () => {
      const p = protocolsOf(rig.tern, socket);
      return p.length === 3 && p.every((x) => x.state === 'Established') ? p : undefined;
    });
    expect(peers.map((p) => p.name).sort()).toEqual([
      'Node_127_0_0_11',
      'Node_127_0_0_12',
      'Node_127_0_0_13',
    ]);
    run.kill('SIGINT');
    expect(await run.code).toBe(0);
    expect(run.out()).toContain('Stopping (Ctrl-C)');
    expect(existsSync(socket)).toBe(false);
  });

  it('refuses a bad --duration', async () => {
    const run = demo(['--duration', 'soon']);
    expect(await run.code).toBe(2);
    expect(run.err()).toContain('--duration: expected a number of seconds > 0, got "soon"');
  });
});

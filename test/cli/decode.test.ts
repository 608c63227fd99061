import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/messages/iana.js';
import { contextFromOptions, decodeInputs } from '../../src/cli/decode.js';

const MARKER = 'ff'.repeat(16);
const KEEPALIVE = `${MARKER}001304`;
const EOR_V4 = `${MARKER}00170200000000`;
// UPDATE: ORIGIN igp, AS_PATH [65001], NEXT_HOP 100.64.0.1, NLRI 10.0.0.0/26
const UPDATE = `${MARKER}0030020000001440010100400206020100 00fde940030464400001 1a0a000000`.replace(
  / /g,
  '',
);
// the same with a prefix length of 33 in the NLRI: 3/10 at the length byte (offset 43)
const BAD_NLRI = `${MARKER}0030020000001440010100400206020100 00fde940030464400001 210a000000`.replace(
  / /g,
  '',
);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tern(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('decodeInputs', () => {
  const ctx = contextFromOptions({});

  it('decodes one message per input, several back to back, and ignores ":" and spaces', () => {
    const { out, errors } = decodeInputs(
      [UPDATE, `${KEEPALIVE}${EOR_V4}`, KEEPALIVE.replace(/(..)/g, '$1:')],
      ctx,
    );
    expect(errors).toEqual([]);
    const json = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.map((j) => j.type)).toEqual(['update', 'keepalive', 'update', 'keepalive']);
    expect(json[0]).toMatchObject({
      nlri: ['10.0.0.0/26'],
      attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '100.64.0.1' },
    });
    expect(json[2]).toMatchObject({ endOfRib: 'ipv4-unicast' });
  });

  it('names the BGP error and the byte offset of malformed input', () => {
    const { out, errors } = decodeInputs([BAD_NLRI], ctx);
    expect(out).toEqual([]);
    expect(errors).toEqual([
      'input 1: UPDATE Message Error / Invalid Network Field (3/10) at byte 43: IPv4 prefix length 33 exceeds 32',
    ]);
  });

  it('reports header errors, truncation and non-hex input', () => {
    const { errors } = decodeInputs([`${'fe'.repeat(16)}001304`, KEEPALIVE.slice(0, -2), 'xyz'], ctx);
    expect(errors[0]).toMatch(
      /^input 1: Message Header Error \/ Connection Not Synchronized \(1\/1\) at byte 0/,
    );
    expect(errors[1]).toMatch(
      /^input 2: Message Header Error \/ Bad Message Length \(1\/2\) at byte 0: 18 bytes/,
    );
    expect(errors[2]).toMatch(/^input 3: not hex/);
  });

  it('builds the context from the flags', () => {
    const c = contextFromOptions({ as2: true, addPath: 'ipv4-unicast, ipv6-unicast', extendedMessage: true });
    expect(c.as4).toBe(false);
    expect([...c.addPath].sort()).toEqual([IPV4_UNICAST, IPV6_UNICAST].sort());
    expect(c.extendedMessage).toBe(true);
    expect(() => contextFromOptions({ addPath: 'l2vpn-evpn' })).toThrow(/unknown family "l2vpn-evpn"/);
  });

  it('reads path identifiers with --add-path', () => {
    // NLRI with a path id: 00000007 1a 0a000000
    const withId =
      `${MARKER}0034020000001440010100400206020100 00fde940030464400001 000000071a0a000000`.replace(/ /g, '');
    const { out } = decodeInputs([withId], contextFromOptions({ addPath: 'ipv4-unicast' }));
    expect(JSON.parse(out[0]!)).toMatchObject({ nlri: [{ prefix: '10.0.0.0/26', pathId: 7 }] });
  });
});

describe('tern decode (the command)', () => {
  it('prints JSON lines for arguments and exits 0', () => {
    const r = tern(['decode', UPDATE, KEEPALIVE]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toEqual({ type: 'keepalive' });
  });

  it('reads stdin one message per line', () => {
    const r = tern(['decode'], `${KEEPALIVE}\n\n${EOR_V4}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('exits 1 with a one-line error and no stack trace on malformed input', () => {
    const r = tern(['decode', BAD_NLRI]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Invalid Network Field \(3\/10\) at byte 43/);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('rejects an unknown --add-path family with a message', () => {
    const r = tern(['decode', '--add-path', 'bogus', KEEPALIVE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown family "bogus"/);
  });
});

// `tern run --log-format pretty|json` as an operator sees it: two daemons peered on loopback, A logging
// pretty lines and B JSON (its default when stderr is no terminal); the lines that matter checked in
// both: session state changes, session established (families by name), the NOTIFICATION of B's stop
// (SIGINT: Cease, code names), the session down with its reason, A's graceful stop (SIGTERM).

import { describe, expect, it } from 'vitest';
import { cliDaemons, protocolsOf, waitLong } from '../helpers/cli-daemons.js';

const rig = cliDaemons('tern-logfmt-');
const PRETTY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;

describe('tern run --log-format', () => {
  it('pretty: one readable line per record; json: one object per line', async () => {
    const { a, b } = rig.peered({
      argsA: ['--log-format', 'pretty'],
      originateB: ['10.244.2.0/26'],
    });
    await waitLong('Established at A', () => protocolsOf(rig.tern, a.socket)[0]?.state === 'Established');
    expect(await b.stop('SIGINT')).toBe(0); // a real shutdown: Cease to A
    await waitLong('A logs the session down', () => a.stderr().includes('session down'));
    expect(await a.stop()).toBe(0);

    const pretty = a.stderr().trimEnd().split('\n');
    for (const line of pretty) expect(line).toMatch(PRETTY);
    const find = (re: RegExp): string => {
      const line = pretty.find((l) => re.test(l));
      expect(line, `a line matching ${re}`).toBeDefined();
      return line ?? '';
    };
    find(
      / INFO {2}\[Mesh_127_0_0_2\] session state address=127\.0\.0\.2 from=OpenConfirm to=Established direction=(in|out)$/,
    );
    expect(find(/\[Mesh_127_0_0_2\] session established /)).toContain(' families=ipv4-unicast,ipv6-unicast ');
    expect(find(/ WARN {2}\[Mesh_127_0_0_2\] NOTIFICATION received /)).toContain(
      'code=6 subcode=2 codeName="Cease / Administrative Shutdown" shutdownMessage="tern is shutting down"',
    );
    expect(find(/ WARN {2}\[Mesh_127_0_0_2\] session down /)).toMatch(
      /reason="received NOTIFICATION Cease \/ Administrative Shutdown: \\"tern is shutting down\\"" routesDropped=1/,
    );
    find(/ INFO {2}stopping for a graceful restart why=SIGTERM mode=graceful restartTime=120$/);
    find(/ INFO {2}tern stopped for a graceful restart ceaseSent=0$/);

    // B: JSON lines (stderr is a pipe), every one an object with level, time and msg
    const json = b
      .stderr()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.length).toBeGreaterThan(3);
    for (const r of json)
      expect(r).toMatchObject({
        level: expect.any(Number),
        time: expect.any(Number),
        msg: expect.any(String),
      });
    expect(json).toContainEqual(
      expect.objectContaining({ msg: 'NOTIFICATION sent', peer: 'Mesh_127_0_0_1', code: 6, subcode: 2 }),
    );
  });

  it('refuses an unknown format, listing the valid ones', () => {
    const r = rig.tern(['run', '-c', 'nowhere.yaml', '--log-format', 'xml']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("argument 'xml' is invalid");
    expect(r.stderr).toContain('json, pretty');
  });
});

// The pretty log line (src/log-pretty.ts): time, level, component/peer, message, then key=value.

import { describe, expect, it } from 'vitest';
import { chooseLogFormat } from '../../src/log.js';
import { localTime, prettyLine, valueText } from '../../src/log-pretty.js';

const T = new Date(2025, 5, 1, 14, 3, 7, 412).getTime();

describe('prettyLine', () => {
  it('writes time, level, [peer], message and the other fields', () => {
    const rec = {
      level: 30,
      time: T,
      name: 'tern',
      peer: 'Mesh_10_0_0_2',
      address: '10.0.0.2',
      from: 'OpenConfirm',
      to: 'Established',
      msg: 'session state',
    };
    expect(prettyLine(JSON.stringify(rec))).toBe(
      '2025-06-01 14:03:07.412 INFO  [Mesh_10_0_0_2] session state address=10.0.0.2 from=OpenConfirm to=Established\n',
    );
  });

  it('names the component, and both when a record has component and peer', () => {
    const line = prettyLine(JSON.stringify({ level: 40, time: T, component: 'kernel', peer: 'p', msg: 'm' }));
    expect(line).toBe('2025-06-01 14:03:07.412 WARN  [kernel/p] m\n');
  });

  it('quotes what needs it, joins lists, writes objects as JSON and errors by their message', () => {
    expect(valueText('plain')).toBe('plain');
    expect(valueText('two words')).toBe('"two words"');
    expect(valueText('')).toBe('""');
    expect(valueText('a=b')).toBe('"a=b"');
    expect(valueText('say "hi"')).toBe('"say \\"hi\\""');
    expect(valueText('tab\there')).toBe('"tab\\there"');
    expect(valueText(['ipv4-unicast', 'ipv6-unicast'])).toBe('ipv4-unicast,ipv6-unicast');
    expect(valueText([])).toBe('[]');
    expect(valueText([{ a: 1 }])).toBe('[{"a":1}]');
    expect(valueText({ address: '0.0.0.0', port: 179 })).toBe('{"address":"0.0.0.0","port":179}');
    expect(valueText({ type: 'Error', message: 'it broke', stack: 'Error: it broke\n at x' })).toBe(
      '"it broke"',
    );
    expect(valueText(12)).toBe('12');
    expect(valueText(null)).toBe('null');
  });

  it('colours the level when asked, keeps a multi-line message on one line, passes non-JSON through', () => {
    expect(prettyLine(JSON.stringify({ level: 50, time: T, msg: 'x' }), { color: true })).toBe(
      '2025-06-01 14:03:07.412 \x1b[31mERROR\x1b[0m x\n',
    );
    expect(prettyLine(JSON.stringify({ level: 30, time: T, msg: 'a\n  b' }))).toBe(
      '2025-06-01 14:03:07.412 INFO  a b\n',
    );
    expect(prettyLine('not json\n')).toBe('not json\n');
    expect(prettyLine('[1,2]\n')).toBe('[1,2]\n');
  });

  it('formats local time to the millisecond', () => {
    expect(localTime(new Date(2024, 0, 2, 3, 4, 5, 6).getTime())).toBe('2024-01-02 03:04:05.006');
  });
});

describe('chooseLogFormat', () => {
  it('takes the one asked for, else pretty on a terminal and JSON elsewhere', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
  });
});

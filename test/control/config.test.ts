// The `control` section of the config: socket and group.

import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, parseConfig } from '../../src/config/index.js';

function parse(control: string): { control?: unknown; errors: readonly ConfigIssue[] } {
  try {
    return {
      control: parseConfig(`routerId: 10.0.0.1\ncontrol: ${control}\n`, 'test.yaml').control,
      errors: [],
    };
  } catch (e) {
    if (e instanceof ConfigError) return { errors: e.errors };
    throw e;
  }
}

describe('config: control', () => {
  it('has no group unless one is given', () => {
    expect(parse('{ socket: /run/t.ctl }').control).toEqual({ socket: '/run/t.ctl' });
  });

  it('takes a group name', () => {
    expect(parse('{ socket: /run/t.ctl, group: tern-ctl }').control).toEqual({
      socket: '/run/t.ctl',
      group: 'tern-ctl',
    });
  });

  it('takes a numeric gid, as a number or a string of digits', () => {
    expect(parse('{ group: 0 }').control).toEqual({ socket: '/var/run/tern/tern.ctl', group: 0 });
    expect(parse('{ group: "1001" }').control).toEqual({ socket: '/var/run/tern/tern.ctl', group: 1001 });
  });

  it.each([
    ['a negative gid', '{ group: -1 }', 'expected a group name or a numeric gid 0..4294967294, got -1'],
    ['an empty name', '{ group: "" }', 'expected a group name or a numeric gid 0..4294967294, got ""'],
    [
      'a name with a space',
      '{ group: "tern ctl" }',
      'expected a group name or a numeric gid 0..4294967294, got "tern ctl"',
    ],
  ])('refuses %s', (_, text, message) => {
    expect(parse(text).errors).toEqual([{ path: 'control.group', message }]);
  });

  it('suggests group for a misspelt key', () => {
    expect(parse('{ gruop: tern }').errors).toEqual([
      { path: 'control.gruop', message: 'unknown field (did you mean group?)' },
    ]);
  });
});

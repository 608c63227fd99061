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

describe('config: control.birdSocket, control.bird6Socket', () => {
  it('has neither unless given', () => {
    expect(parse('{ socket: /run/t.ctl }').control).not.toHaveProperty('birdSocket');
  });

  it('takes the paths Calico uses', () => {
    expect(
      parse('{ birdSocket: /var/run/calico/bird.ctl, bird6Socket: /var/run/calico/bird6.ctl }').control,
    ).toEqual({
      socket: '/var/run/tern/tern.ctl',
      birdSocket: '/var/run/calico/bird.ctl',
      bird6Socket: '/var/run/calico/bird6.ctl',
    });
  });

  it.each([
    [
      'the control socket',
      '{ socket: /run/t.ctl, birdSocket: /run/t.ctl }',
      'control.birdSocket',
      'expected a path other than control.socket\'s, got "/run/t.ctl"',
    ],
    [
      'one path for both',
      '{ birdSocket: /run/b.ctl, bird6Socket: /run/b.ctl }',
      'control.bird6Socket',
      'expected a path other than control.birdSocket\'s, got "/run/b.ctl"',
    ],
    ['an empty path', '{ birdSocket: "" }', 'control.birdSocket', 'expected a file path, got ""'],
    [
      'a path too long for a Unix socket',
      `{ bird6Socket: /${'x'.repeat(120)} }`,
      'control.bird6Socket',
      `expected a path of at most 107 bytes (the limit of a Unix socket address), got "/${'x'.repeat(56)}..." (121 bytes)`,
    ],
  ])('refuses %s', (_, text, path, message) => {
    expect(parse(text).errors).toEqual([{ path, message }]);
  });

  it('suggests birdSocket for a misspelt key', () => {
    expect(parse('{ birdsocket: /run/b.ctl }').errors).toEqual([
      { path: 'control.birdsocket', message: 'unknown field (did you mean birdSocket?)' },
    ]);
  });
});

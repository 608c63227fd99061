// Calico's selector language: the cases of libcalico-go's own parser tests (lib/selector/parser/
// parser_test.go: selectorTests and badSelectors), the selectors Calico's BGP guides use, and the
// positions in error messages.

import { describe, expect, it } from 'vitest';
import { type Labels, matches, parseSelector, SelectorError } from '../../src/config/calico/selector.js';

type Case = readonly [selector: string, match: readonly Labels[], noMatch: readonly Labels[]];

// libcalico-go parser_test.go, selectorTests
const CALICO_CASES: readonly Case[] = [
  [`a == "b"`, [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { c: 'd' }]],
  [
    `a == "b" && c == "d"`,
    [{ a: 'b', c: 'd' }],
    [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }],
  ],
  [
    `a == "b" || c == "d"`,
    [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }],
    [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }],
  ],
  [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],
  [`a == 'a'`, [{ a: 'a' }], []],
  [`a == "a"`, [{ a: 'a' }], []],
  [`a != "b"`, [{ a: 'a' }], []],
  [`a != "a"`, [{}], []],
  [`a contains "a"`, [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { b: 'aaa' }]],
  [
    `a starts with "a"`,
    [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }],
    [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }],
  ],
  [
    `a ends with "a"`,
    [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }],
    [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }],
  ],
  [`a in {"a"}`, [{ a: 'a' }], []],
  [`!a in {"a"}`, [{ a: 'b' }], []],
  [`a in {"a", "b"}`, [{ a: 'a' }, { a: 'b' }], [{ a: 'c' }]],
  [`a not in {"d", "e"}`, [{ a: 'a' }], []],
  [`has(a)`, [{ a: 'b' }], []],
  [`!has(a)`, [{ b: 'b' }], []],
  [``, [{}, { a: 'b' }], []],
  [` `, [{}], []],
  [`all()`, [{}], []],
  [` all()`, [{}, { a: 'b' }], []],
  [`global()`, [{}], []],
  [` global()`, [{}, { a: 'b' }], []],
  [`a == 'a'`, [], [{ a: 'b' }, {}]],
  [`a != "a"`, [], [{ a: 'a' }]],
  [`a != 'a'`, [], [{ a: 'a' }]],
  [`a in {"a"}`, [], [{ a: 'b' }]],
  [`a not in {"a"}`, [], [{ a: 'a' }]],
  [`has(b)`, [], [{ a: 'b' }]],
  [`!!has(b)`, [], [{ a: 'b' }]],
  [`! has(a)`, [], [{ a: 'b' }]],
  [`!!! has(a)`, [], [{ a: 'b' }]],
  [`!! ! has(a)`, [], [{ a: 'b' }]],
  [`! !!has(a)`, [], [{ a: 'b' }]],
  [`a == 'a1' && b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && !b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`!a == 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`has(a) && !has(b)`, [{ a: 'a' }], []],
  [`!(!has(a) || has(b))`, [{ a: 'a' }], []],
  [`!(has(b) || !has(a))`, [{ a: 'a' }], []],
  [`a == 'a1' || b != 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`! a == 'a1' || ! b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
];

// what BGPPeer and IPPool selectors in Calico's guides look like
const GUIDE_CASES: readonly Case[] = [
  [`route-reflector == 'true'`, [{ 'route-reflector': 'true' }], [{}, { 'route-reflector': 'false' }]],
  [`rack == 'rack-1'`, [{ rack: 'rack-1' }], [{ rack: 'rack-2' }]],
  [`has(routeReflector)`, [{ routeReflector: 'true' }], [{}]],
  [`!has(routeReflector)`, [{}], [{ routeReflector: '' }]],
  [
    `kubernetes.io/hostname in {'node-1', 'node-2'}`,
    [{ 'kubernetes.io/hostname': 'node-1' }, { 'kubernetes.io/hostname': 'node-2' }],
    [{ 'kubernetes.io/hostname': 'node-3' }, {}],
  ],
  [`zone not in {'a','b'}`, [{ zone: 'c' }, {}], [{ zone: 'a' }]],
  [
    `(rack == 'r1' || rack == 'r2') && !has(edge)`,
    [{ rack: 'r2' }],
    [{ rack: 'r1', edge: 'x' }, { rack: 'r3' }],
  ],
  [`a in {}`, [], [{ a: '' }, {}]],
  [`a in {'x',}`, [{ a: 'x' }], []],
  [`a startswith 'x'`, [{ a: 'xy' }], [{ a: 'yx' }]],
  [`a notin {'x'}`, [{ a: 'y' }], [{ a: 'x' }]],
  [`a\t==\t'x'`, [{ a: 'x' }], []],
];

describe('selectors', () => {
  for (const [selector, yes, no] of [...CALICO_CASES, ...GUIDE_CASES]) {
    it(`${JSON.stringify(selector)}`, () => {
      const s = parseSelector(selector);
      for (const labels of yes) expect(matches(s, labels), JSON.stringify(labels)).toBe(true);
      for (const labels of no) expect(matches(s, labels), JSON.stringify(labels)).toBe(false);
    });
  }

  it('does not take inherited properties for labels', () => {
    expect(matches(parseSelector('has(toString)'), {})).toBe(false);
    expect(matches(parseSelector("constructor != 'x'"), {})).toBe(true);
  });

  // libcalico-go parser_test.go, badSelectors
  const BAD = [
    'b == b',
    'b contains b',
    'b starts with b',
    'b ends with b',
    "'b1' == b",
    'b',
    'a b',
    '!',
    'foo == "bar" &',
    'foo == "bar" |',
    'foo != ||',
    'foo in {"", ||',
    'foo in ""',
    '"FOO',
    `"FOO'`,
    "'FOO",
    '(',
    '(a == "foo"',
    ')',
    '()',
    '%',
    'a == "b" && %',
    'a == "b" || %',
    'a ',
    'has(foo) &&',
    'a = "b"',
    'has(a',
    'all(x)',
  ];
  for (const bad of BAD) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(() => parseSelector(bad)).toThrow(SelectorError);
    });
  }

  it('says where the problem is', () => {
    const at = (s: string): [number, string] => {
      try {
        parseSelector(s);
      } catch (e) {
        if (e instanceof SelectorError) return [e.position, e.message];
      }
      throw new Error(`${s} parsed`);
    };
    expect(at("rack = 'rack-1'")).toEqual([
      5,
      `bad selector "rack = 'rack-1'" at character 6: expected == (a single = is not an operator)`,
    ]);
    expect(at('rack == rack-1')[1]).toMatch(
      /at character 9: expected a quoted string after ==, got label "rack-1"/,
    );
    expect(at("a == 'x' && (b == 'y'")[1]).toMatch(
      /at character 22: expected '\)' \(to close the '\(' at character 13\)/,
    );
    expect(at("a == 'x")[1]).toMatch(/at character 6: unterminated string \(no closing '\)/);
    expect(at('a b')[1]).toMatch(/at character 3: expected an operator after label "a"/);
    expect(at("a == 'x' b")[1]).toMatch(
      /at character 10: unexpected label "b" \(expected && or \|\| or the end\)/,
    );
    expect(at("a in 'x'")[1]).toMatch(/at character 6: expected a set literal/);
  });
});

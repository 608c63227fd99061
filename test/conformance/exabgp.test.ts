// Conformance against ExaBGP's own test corpus (../shared/conformance/exabgp/, see its README):
// every message ExaBGP wrote decodes, ExaBGP's JSON reading of each UPDATE agrees with tern's (the
// attributes, the IPv4/IPv6 unicast routes announced and withdrawn, and which families carry
// anything), and re-encoding what tern decoded means the same (decode(encode(x)) == x), counting how
// many re-encodings are byte-identical to ExaBGP's bytes. Parsing of the corpus: exabgp-corpus.ts.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodecContext, makeContext } from '../../src/bgp/messages/context.js';
import { BgpError } from '../../src/bgp/messages/errors.js';
import { Afi, Safi } from '../../src/bgp/messages/iana.js';
import { type BgpMessage, decodeMessage, encodeMessage } from '../../src/bgp/messages/message.js';
import type { UpdateMessage } from '../../src/bgp/messages/update.js';
import {
  bytesToHex,
  type CiFile,
  corpusDir,
  countRawLines,
  type DecodingCase,
  type ExaConf,
  exaFamily,
  exaUpdateReading,
  hexToBytes,
  listFiles,
  neighborForStep,
  parseCi,
  parseDecoding,
  parseExaConf,
  ternUpdateReading,
} from './exabgp-corpus.js';

const DIR = corpusDir(); // throws, naming the path, when the corpus is missing

const ciTexts = listFiles(`${DIR}encoding/`, '.ci').map((name) => ({
  name,
  text: readFileSync(`${DIR}encoding/${name}`, 'utf8'),
}));
const ciFiles: CiFile[] = ciTexts.map(({ name, text }) => parseCi(`encoding/${name}`, text));
const RAW_LINES = ciTexts.reduce((n, { text }) => n + countRawLines(text), 0);

const confCache = new Map<string, ExaConf>();
function conf(name: string): ExaConf {
  let c = confCache.get(name);
  if (!c) {
    c = parseExaConf(`etc/${name}`, readFileSync(`${DIR}etc/${name}`, 'utf8'));
    confCache.set(name, c);
  }
  return c;
}

const decodingCases: DecodingCase[] = listFiles(`${DIR}decoding/`).map((name) =>
  parseDecoding(name, readFileSync(`${DIR}decoding/${name}`, 'utf8')),
);

/** What the run checked, printed at the end. Touched only by the tests of this file, in order. */
const stats = {
  decodedCi: 0,
  decodedFiles: 0,
  readings: 0,
  reencoded: 0,
  identical: 0,
  notIdentical: [] as string[],
};

function describeError(e: unknown): string {
  if (e instanceof BgpError)
    return `${e.name} ${e.code}/${e.subcode} at offset ${e.offset ?? '?'}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function decodeOrExplain(bytes: Uint8Array, ctx: CodecContext, where: string): BgpMessage {
  try {
    return decodeMessage(bytes, ctx);
  } catch (e) {
    throw new Error(`${where}: decodeMessage threw ${describeError(e)}\n  hex ${bytesToHex(bytes)}`);
  }
}

function isUnicast(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && safi === Safi.UNICAST;
}

/** What every corpus UPDATE must satisfy whatever its family. */
function checkUpdateShape(msg: UpdateMessage, where: string): void {
  // ExaBGP wrote these as valid UPDATEs: no RFC 7606 treat-as-withdraw or attribute-discard.
  expect(
    msg.problems?.map((p) => `${p.action}: ${p.error.message}`),
    `${where}: RFC 7606 problems`,
  ).toBeUndefined();
  // Families tern does not implement travel as opaque bytes, the unicast ones decoded.
  for (const mp of [msg.attributes.mpReach, msg.attributes.mpUnreach]) {
    if (mp === undefined) continue;
    expect(mp.kind, `${where}: MP attribute of ${mp.afi}/${mp.safi}`).toBe(
      isUnicast(mp.afi, mp.safi) ? 'unicast' : 'opaque',
    );
  }
}

/** ExaBGP's JSON reading against tern's decoded UPDATE. */
function compareReading(msg: BgpMessage, json: string, where: string): void {
  const exa = exaUpdateReading(json, where);
  expect(exa, `${where}: ExaBGP's JSON holds no message.update`).toBeDefined();
  expect(msg.type, `${where}: ExaBGP read an UPDATE`).toBe('update');
  if (exa === undefined || msg.type !== 'update') return;
  const tern = ternUpdateReading(msg, where);
  expect(tern.attributes, `${where}: attributes`).toEqual(exa.attributes);
  expect(tern.announce, `${where}: unicast routes announced`).toEqual(exa.announce);
  expect(tern.withdraw, `${where}: unicast routes withdrawn`).toEqual(exa.withdraw);
  expect(tern.announceFamilies, `${where}: families announced`).toEqual(exa.announceFamilies);
  expect(tern.withdrawFamilies, `${where}: families withdrawn`).toEqual(exa.withdrawFamilies);
  stats.readings++;
}

function withoutIgnored(msg: BgpMessage): BgpMessage {
  if (msg.type !== 'update' || msg.ignoredAttributes === undefined) return msg;
  const { ignoredAttributes: _ignored, ...rest } = msg;
  return rest;
}

/** encode(decode(bytes)) decodes to the same message; counts byte-identical re-encodings. */
function checkRoundTrip(msg: BgpMessage, source: Uint8Array, ctx: CodecContext, where: string): void {
  const before = structuredClone(msg);
  const encoded = encodeMessage(msg, ctx);
  expect(msg, `${where}: encodeMessage changed the message it encoded`).toEqual(before);
  const again = decodeOrExplain(encoded, ctx, `${where} (re-encoded)`);
  // attributes tern ignores on the way in (optional non-transitive, RFC 4271 9) are not sent on
  expect(again, `${where}: decode(encode(msg)) differs from msg`).toEqual(withoutIgnored(msg));
  stats.reencoded++;
  if (Buffer.compare(encoded, source) === 0) stats.identical++;
  else stats.notIdentical.push(where);
}

describe('ExaBGP corpus: encoding/*.ci', () => {
  it('has test cases', () => {
    expect(ciFiles.length).toBeGreaterThan(0);
    expect(RAW_LINES).toBeGreaterThan(0);
  });

  for (const ci of ciFiles) {
    describe(ci.name, () => {
      for (const m of ci.messages) {
        const where = `${ci.name}:${m.line}`;
        const title = `${where} step ${m.step}${m.cmd ? `: ${m.cmd.slice(0, 90)}` : ''}`;
        it(title, () => {
          const exaConf = conf(ci.conf);
          const ctx = neighborForStep(exaConf, m.step, where).context;
          const msg = decodeOrExplain(m.bytes, ctx, where);
          stats.decodedCi++;
          if (msg.type === 'update') checkUpdateShape(msg, where);
          for (const r of m.readings)
            compareReading(msg, r.text, `${ci.name}:${r.line} (${r.kind} of line ${m.line})`);
          checkRoundTrip(msg, m.bytes, ctx, where);
        });
      }
    });
  }
});

const TYPE_CODES: Readonly<Record<string, number>> = {
  open: 1,
  update: 2,
  notification: 3,
  keepalive: 4,
  'route-refresh': 5,
};

/** A decoding/ file's bytes as a whole message: some files hold only the body, without the header. */
function decodingMessage(c: DecodingCase): Uint8Array {
  const where = `decoding/${c.name}`;
  const bytes = hexToBytes(c.hex, where);
  if (/^F{32}/i.test(c.hex)) return bytes;
  const type = TYPE_CODES[c.type];
  if (type === undefined) throw new Error(`${where}: message type "${c.type}" without a header`);
  const out = new Uint8Array(19 + bytes.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 255;
  out[18] = type;
  out.set(bytes, 19);
  return out;
}

/**
 * A bare NLRI (decoding/ files of type "nlri") wrapped into an UPDATE: ORIGIN IGP, an empty AS_PATH and
 * an MP_REACH_NLRI of the family with next hop 0.0.0.0, so tern's handling of it (opaque, intact) is
 * tested the way it meets it on a session.
 */
function wrapNlri(afi: number, safi: number, nlri: Uint8Array): Uint8Array {
  const mpLen = 2 + 1 + 1 + 4 + 1 + nlri.length;
  const attrs = [
    0x40,
    1,
    1,
    0,
    0x40,
    2,
    0,
    0x90,
    14,
    mpLen >> 8,
    mpLen & 255,
    afi >> 8,
    afi & 255,
    safi,
    4,
    0,
    0,
    0,
    0,
    0,
  ];
  const body = [0, 0, 0, attrs.length + nlri.length];
  const total = 19 + body.length + attrs.length + nlri.length;
  const out = new Uint8Array(total);
  out.fill(0xff, 0, 16);
  out.set([total >> 8, total & 255, 2, ...body, ...attrs], 16);
  out.set(nlri, total - nlri.length);
  return out;
}

describe('ExaBGP corpus: decoding/', () => {
  it('has test cases', () => {
    expect(decodingCases.length).toBeGreaterThan(0);
  });

  for (const c of decodingCases) {
    const where = `decoding/${c.name}`;
    it(`${where}: ${c.type} ${c.family}`, () => {
      // `exabgp decode` reads with a 4-octet AS session and no ADD-PATH.
      const ctx = makeContext({ extendedMessage: true });
      if (c.type === 'nlri') {
        const [afi, safi] = exaFamily(c.family.split(' ').slice(0, 2).join(' '), where);
        const nlri = hexToBytes(c.hex, where);
        const bytes = wrapNlri(afi, safi, nlri);
        const msg = decodeOrExplain(bytes, ctx, where);
        stats.decodedFiles++;
        expect(msg.type).toBe('update');
        if (msg.type !== 'update') return;
        checkUpdateShape(msg, where);
        expect(msg.attributes.mpReach, `${where}: the NLRI, opaque and intact`).toEqual({
          kind: 'opaque',
          afi,
          safi,
          nextHop: new Uint8Array(4),
          nlri,
        });
        checkRoundTrip(msg, bytes, ctx, where);
        return;
      }
      const bytes = decodingMessage(c);
      const msg = decodeOrExplain(bytes, ctx, where);
      stats.decodedFiles++;
      expect(msg.type, `${where}: line 1 says ${c.type}`).toBe(c.type);
      if (msg.type === 'update') {
        checkUpdateShape(msg, where);
        compareReading(msg, c.json, where);
      }
      checkRoundTrip(msg, bytes, ctx, where);
    });
  }
});

describe('ExaBGP corpus: coverage', () => {
  it('decoded every raw line of encoding/*.ci and every decoding/ file', () => {
    const parsed = ciFiles.reduce((n, f) => n + f.messages.length, 0);
    expect(parsed, 'raw lines the parser found vs. lines that look like raw captures').toBe(RAW_LINES);
    expect(stats.decodedCi).toBeGreaterThanOrEqual(RAW_LINES);
    expect(stats.decodedFiles).toBe(decodingCases.length);
  });
});

afterAll(() => {
  const decoded = stats.decodedCi + stats.decodedFiles;
  console.log(
    `conformance: ${decoded} messages decoded (${stats.decodedCi} of ${RAW_LINES} raw lines in encoding/*.ci, ` +
      `${stats.decodedFiles} of ${decodingCases.length} decoding/ files), ${stats.readings} JSON readings compared, ` +
      `${stats.identical} of ${stats.reencoded} re-encoded byte-identical`,
  );
  if (stats.notIdentical.length > 0) {
    console.log(
      `conformance: re-encoded with the same meaning but other bytes: ${stats.notIdentical.join(', ')}`,
    );
  }
});

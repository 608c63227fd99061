// OPEN <-> JSON, the shape `tern decode` prints and the fixtures hold. Kept out of the codec types:
// the codecs know bytes and data, this module knows text.
//
// {"type":"open","version":4,"myAs":23456,"as":4200000001,"holdTime":240,"bgpId":"10.0.0.1",
//  "capabilities":[{"code":1,"name":"multiprotocol","afi":1,"safi":1,"family":"ipv4-unicast"}, ...],
//  "parameters":[{"type":1,"value":"0a0b"}]}
//
// "as" (the effective AS), "family" and known capabilities' "code" are derived: on input they may be
// left out, and when present they must agree with the fields they derive from.

import { type Capability, capabilityCode } from '../messages/capabilities/index.js';
import { familyName } from '../messages/iana.js';
import { type OpenMessage, OptionalParameterType, openAs, type RawParameter } from '../messages/open.js';
import { parseIpv4 } from '../messages/prefix.js';
import { fromHex, toHex } from './hex.js';
import { arr, fail, type Json, obj, str, uint } from './read.js';

// ---- to JSON ----

function family(afi: number, safi: number): Json {
  return { afi, safi, family: familyName(afi, safi) };
}

function capabilityFields(cap: Capability): Json {
  switch (cap.kind) {
    case 'multiprotocol':
      return family(cap.afi, cap.safi);
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
      return {};
    case 'extended-next-hop':
      return { families: cap.families.map((f) => ({ ...family(f.afi, f.safi), nextHopAfi: f.nextHopAfi })) };
    case 'graceful-restart':
      return {
        restartFlags: cap.restartFlags,
        restartTime: cap.restartTime,
        families: cap.families.map((f) => ({ ...family(f.afi, f.safi), forwardingState: f.forwardingState })),
      };
    case 'four-octet-as':
      return { as: cap.as };
    case 'add-path':
      return {
        families: cap.families.map((f) => ({ ...family(f.afi, f.safi), send: f.send, receive: f.receive })),
      };
    case 'long-lived-graceful-restart':
      return {
        families: cap.families.map((f) => ({
          ...family(f.afi, f.safi),
          forwardingState: f.forwardingState,
          staleTime: f.staleTime,
        })),
      };
    case 'fqdn':
      return { hostname: cap.hostname, domainName: cap.domainName };
    case 'software-version':
      return { version: cap.version };
    case 'unknown':
      return { value: toHex(cap.value) };
  }
}

export function capabilityToJson(cap: Capability): Json {
  return { code: capabilityCode(cap), name: cap.kind, ...capabilityFields(cap) };
}

export function openToJson(msg: OpenMessage): Json {
  return {
    type: 'open',
    version: msg.version,
    myAs: msg.myAs,
    as: openAs(msg),
    holdTime: msg.holdTime,
    bgpId: msg.bgpId,
    capabilities: msg.capabilities.map(capabilityToJson),
    ...(msg.parameters
      ? { parameters: msg.parameters.map((p) => ({ type: p.type, value: toHex(p.value) })) }
      : {}),
  };
}

// ---- from JSON ----

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v;
}

function hex(v: unknown, path: string, maxLength: number): Uint8Array {
  const bytes = fromHex(str(v, path));
  if (!bytes || bytes.length > maxLength) fail(path, `hex bytes (at most ${maxLength})`, v);
  return bytes;
}

function shortString(v: unknown, path: string): string {
  const s = str(v, path);
  if (new TextEncoder().encode(s).length > 255) fail(path, 'a string of at most 255 UTF-8 octets', s);
  return s;
}

/** afi and safi of `o`; a "family" beside them must name them. */
function familyFromJson(o: Json, path: string, maxSafi = 0xff): { afi: number; safi: number } {
  const afi = uint(o.afi, `${path}.afi`, 0xffff);
  const safi = uint(o.safi, `${path}.safi`, maxSafi);
  if (o.family !== undefined && o.family !== familyName(afi, safi)) {
    fail(`${path}.family`, `"${familyName(afi, safi)}" (from afi and safi)`, o.family);
  }
  return { afi, safi };
}

function familiesFromJson<T>(o: Json, path: string, each: (f: Json, path: string) => T): T[] {
  return arr(o.families, `${path}.families`).map((f, i) => {
    const p = `${path}.families[${i}]`;
    return each(obj(f, p), p);
  });
}

function capabilityFromJsonFields(o: Json, path: string): Capability {
  const name = str(o.name, `${path}.name`);
  switch (name) {
    case 'multiprotocol':
      return { kind: name, ...familyFromJson(o, path) };
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
      return { kind: name };
    case 'extended-next-hop':
      return {
        kind: name,
        families: familiesFromJson(o, path, (f, p) => ({
          ...familyFromJson(f, p, 0xffff),
          nextHopAfi: uint(f.nextHopAfi, `${p}.nextHopAfi`, 0xffff),
        })),
      };
    case 'graceful-restart':
      return {
        kind: name,
        restartFlags: uint(o.restartFlags, `${path}.restartFlags`, 0xf),
        restartTime: uint(o.restartTime, `${path}.restartTime`, 0xfff),
        families: familiesFromJson(o, path, (f, p) => ({
          ...familyFromJson(f, p),
          forwardingState: bool(f.forwardingState, `${p}.forwardingState`),
        })),
      };
    case 'four-octet-as':
      return { kind: name, as: uint(o.as, `${path}.as`) };
    case 'add-path':
      return {
        kind: name,
        families: familiesFromJson(o, path, (f, p) => {
          const send = bool(f.send, `${p}.send`);
          const receive = bool(f.receive, `${p}.receive`);
          if (!send && !receive) fail(`${p}.receive`, 'true when send is false', receive);
          return { ...familyFromJson(f, p), send, receive };
        }),
      };
    case 'long-lived-graceful-restart':
      return {
        kind: name,
        families: familiesFromJson(o, path, (f, p) => ({
          ...familyFromJson(f, p),
          forwardingState: bool(f.forwardingState, `${p}.forwardingState`),
          staleTime: uint(f.staleTime, `${p}.staleTime`, 0xffffff),
        })),
      };
    case 'fqdn':
      return {
        kind: name,
        hostname: shortString(o.hostname, `${path}.hostname`),
        domainName: shortString(o.domainName ?? '', `${path}.domainName`),
      };
    case 'software-version':
      return { kind: name, version: shortString(o.version, `${path}.version`) };
    case 'unknown':
      return {
        kind: name,
        code: uint(o.code, `${path}.code`, 0xff),
        value: hex(o.value, `${path}.value`, 255),
      };
    default:
      return fail(`${path}.name`, 'a capability name', name);
  }
}

export function capabilityFromJson(v: unknown, path: string): Capability {
  const o = obj(v, path);
  const cap = capabilityFromJsonFields(o, path);
  const code = capabilityCode(cap);
  if (o.code !== undefined && o.code !== code) fail(`${path}.code`, `${code} for ${cap.kind}`, o.code);
  return cap;
}

function parameterFromJson(v: unknown, path: string): RawParameter {
  const o = obj(v, path);
  const type = uint(o.type, `${path}.type`, 0xff);
  if (type === OptionalParameterType.CAPABILITIES || type === OptionalParameterType.EXTENDED_LENGTH) {
    fail(`${path}.type`, 'a parameter type other than 2 (use "capabilities") and 255', type);
  }
  return { type, value: hex(o.value, `${path}.value`, 0xffff) };
}

/** The OPEN a JSON object describes; throws a JsonShapeError naming the bad field. */
export function openFromJson(v: unknown): OpenMessage {
  const o = obj(v, 'open');
  if (o.type !== 'open') fail('type', '"open"', o.type);
  const bgpId = str(o.bgpId, 'bgpId');
  if (parseIpv4(bgpId) === undefined) fail('bgpId', 'a dotted quad', bgpId);
  const msg: OpenMessage = {
    type: 'open',
    version: uint(o.version, 'version', 0xff),
    myAs: uint(o.myAs, 'myAs', 0xffff),
    holdTime: uint(o.holdTime, 'holdTime', 0xffff),
    bgpId,
    capabilities: arr(o.capabilities ?? [], 'capabilities').map((c, i) =>
      capabilityFromJson(c, `capabilities[${i}]`),
    ),
    ...(o.parameters !== undefined
      ? {
          parameters: arr(o.parameters, 'parameters').map((p, i) => parameterFromJson(p, `parameters[${i}]`)),
        }
      : {}),
  };
  if (o.as !== undefined && o.as !== openAs(msg)) {
    fail('as', `${openAs(msg)} (from myAs and the four-octet-as capability)`, o.as);
  }
  return msg;
}

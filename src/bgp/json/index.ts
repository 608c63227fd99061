// Messages <-> JSON (the output of `tern decode`, documented in docs/decode.md, and the fixtures).

import { errorCodeName, errorSubcodeName, familyName } from '../messages/iana.js';
import type { BgpMessage } from '../messages/message.js';
import { type NotificationMessage, shutdownMessage } from '../messages/notification.js';
import { type RouteRefreshMessage, RouteRefreshSubtype } from '../messages/route-refresh.js';
import { fromHex, toHex } from './hex.js';
import { openFromJson, openToJson } from './open.js';
import { fail, type Json, obj, str, uint } from './read.js';
import { updateFromJson, updateToJson } from './update.js';

const SUBTYPE_NAMES: Readonly<Record<number, string>> = {
  [RouteRefreshSubtype.NORMAL]: 'normal',
  [RouteRefreshSubtype.BORR]: 'borr',
  [RouteRefreshSubtype.EORR]: 'eorr',
};

function notificationToJson(m: NotificationMessage): Json {
  const text = shutdownMessage(m);
  return {
    type: 'notification',
    code: m.code,
    subcode: m.subcode,
    codeName: errorCodeName(m.code),
    subcodeName: errorSubcodeName(m.code, m.subcode),
    data: toHex(m.data),
    ...(text !== undefined ? { shutdownMessage: text } : {}),
  };
}

function routeRefreshToJson(m: RouteRefreshMessage): Json {
  return {
    type: 'route-refresh',
    afi: m.afi,
    safi: m.safi,
    family: familyName(m.afi, m.safi),
    subtype: SUBTYPE_NAMES[m.subtype] ?? m.subtype,
  };
}

export function messageToJson(m: BgpMessage): Json {
  switch (m.type) {
    case 'open':
      return openToJson(m);
    case 'update':
      return updateToJson(m);
    case 'notification':
      return notificationToJson(m);
    case 'keepalive':
      return { type: 'keepalive' };
    case 'route-refresh':
      return routeRefreshToJson(m);
  }
}

/** The message a JSON object describes; throws a JsonShapeError naming the field on bad input. */
export function messageFromJson(v: unknown): BgpMessage {
  const o = obj(v, 'message');
  const type = str(o.type, 'type');
  switch (type) {
    case 'open':
      return openFromJson(o);
    case 'update':
      return updateFromJson(o);
    case 'notification': {
      const data = fromHex(str(o.data ?? '', 'data'));
      if (!data) fail('data', 'hex bytes', o.data);
      return { type, code: uint(o.code, 'code', 0xff), subcode: uint(o.subcode, 'subcode', 0xff), data };
    }
    case 'keepalive':
      return { type };
    case 'route-refresh': {
      let subtype: number;
      if (typeof o.subtype === 'string') {
        const found = Object.entries(SUBTYPE_NAMES).find(([, name]) => name === o.subtype);
        if (!found) fail('subtype', 'normal, borr, eorr or a number', o.subtype);
        subtype = Number(found[0]);
      } else {
        subtype = uint(o.subtype ?? 0, 'subtype', 0xff);
      }
      return { type, afi: uint(o.afi, 'afi', 0xffff), safi: uint(o.safi, 'safi', 0xff), subtype };
    }
    default:
      return fail('type', 'open, update, notification, keepalive or route-refresh', type);
  }
}

export { fromHex, toHex };

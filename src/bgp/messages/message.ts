// Whole messages: header + body, for every message type. `decodeMessage` takes the bytes of one
// message (as the Framer returns them) and either returns the message or throws a BgpError whose
// code/subcode/data is the NOTIFICATION to send and whose offset points into those bytes.

import { type CodecContext, DEFAULT_CONTEXT, maxMessageLength } from './context.js';
import { BgpError, MessageHeaderError, OpenMessageError, UpdateMessageError } from './errors.js';
import { checkHeader, finishHeader, HEADER_LENGTH, startHeader } from './header.js';
import {
  ErrorCode,
  MessageHeaderSubcode,
  MessageType,
  OpenMessageSubcode,
  UpdateMessageSubcode,
} from './iana.js';
import { KEEPALIVE, type KeepaliveMessage } from './keepalive.js';
import { decodeNotification, encodeNotification, type NotificationMessage } from './notification.js';
import { decodeOpen, encodeOpen, type OpenMessage } from './open.js';
import { ByteReader } from './reader.js';
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefreshMessage } from './route-refresh.js';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from './update.js';
import { ByteWriter } from './writer.js';

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

const openOverrun = (detail: string, offset: number): BgpError =>
  new OpenMessageError(OpenMessageSubcode.UNSPECIFIC, detail, undefined, offset);
const updateOverrun = (detail: string, offset: number): BgpError =>
  new UpdateMessageError(UpdateMessageSubcode.MALFORMED_ATTRIBUTE_LIST, detail, undefined, offset);
const headerOverrun = (detail: string, offset: number): BgpError =>
  new MessageHeaderError(MessageHeaderSubcode.BAD_MESSAGE_LENGTH, detail, undefined, offset);

/**
 * Decodes one whole message. `bytes` must hold exactly the message (its header's length); trailing or
 * missing bytes are a Bad Message Length error.
 */
export function decodeMessage(bytes: Uint8Array, ctx: CodecContext = DEFAULT_CONTEXT): BgpMessage {
  if (bytes.length < HEADER_LENGTH) {
    throw new MessageHeaderError(
      MessageHeaderSubcode.BAD_MESSAGE_LENGTH,
      `${bytes.length} bytes is shorter than a header`,
      undefined,
      0,
    );
  }
  const { length, type } = checkHeader(bytes, 0, maxMessageLength(ctx));
  if (length !== bytes.length) {
    throw new MessageHeaderError(
      MessageHeaderSubcode.BAD_MESSAGE_LENGTH,
      `header says ${length} bytes, message has ${bytes.length}`,
      new Uint8Array([length >> 8, length & 255]),
      16,
    );
  }
  switch (type) {
    case MessageType.OPEN:
      return decodeOpen(new ByteReader(bytes, openOverrun, HEADER_LENGTH, length));
    case MessageType.UPDATE:
      return decodeUpdate(new ByteReader(bytes, updateOverrun, HEADER_LENGTH, length), ctx);
    case MessageType.NOTIFICATION:
      return decodeNotification(new ByteReader(bytes, headerOverrun, HEADER_LENGTH, length));
    case MessageType.KEEPALIVE:
      return KEEPALIVE;
    case MessageType.ROUTE_REFRESH:
      return decodeRouteRefresh(new ByteReader(bytes, headerOverrun, HEADER_LENGTH, length));
    default:
      // checkHeader has rejected every other type
      throw new BgpError(ErrorCode.MESSAGE_HEADER, MessageHeaderSubcode.BAD_MESSAGE_TYPE, `type ${type}`);
  }
}

const TYPE_CODES = {
  open: MessageType.OPEN,
  update: MessageType.UPDATE,
  notification: MessageType.NOTIFICATION,
  keepalive: MessageType.KEEPALIVE,
  'route-refresh': MessageType.ROUTE_REFRESH,
} as const;

/**
 * Appends one message to `w`. Throws a RangeError when the message does not fit the negotiated
 * maximum length (an UPDATE too big is a caller bug: use the update packer).
 */
export function writeMessage(msg: BgpMessage, w: ByteWriter, ctx: CodecContext = DEFAULT_CONTEXT): number {
  const start = startHeader(w, TYPE_CODES[msg.type]);
  switch (msg.type) {
    case 'open':
      encodeOpen(msg, w);
      break;
    case 'update':
      encodeUpdate(msg, w, ctx);
      break;
    case 'notification':
      encodeNotification(msg, w);
      break;
    case 'keepalive':
      break;
    case 'route-refresh':
      encodeRouteRefresh(msg, w);
      break;
  }
  const length = finishHeader(w, start);
  if (length > maxMessageLength(ctx)) {
    w.pos = start;
    throw new RangeError(
      `${msg.type} message of ${length} bytes exceeds the maximum ${maxMessageLength(ctx)}`,
    );
  }
  return length;
}

/** Encodes one message into a fresh buffer. */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext = DEFAULT_CONTEXT): Uint8Array {
  const w = new ByteWriter(msg.type === 'update' ? 4096 : 256);
  writeMessage(msg, w, ctx);
  return w.slice();
}

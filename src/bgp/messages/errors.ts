// BGP errors (RFC 4271 section 6). Every error a peer can cause carries the NOTIFICATION it deserves:
// code, subcode and data. `offset` is the byte offset in the message (from the first marker byte)
// where the problem was found, when known. Bugs are asserts, never BgpErrors.

import { ErrorCode, errorCodeName, errorSubcodeName } from './iana.js';
import type { NotificationMessage } from './notification.js';

const EMPTY = new Uint8Array(0);

export class BgpError extends Error {
  override readonly name: string = 'BgpError';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  offset: number | undefined;
  /** What went wrong, without the code and subcode names (the message is both): for re-wrapping. */
  readonly detail: string;

  constructor(code: number, subcode: number, detail: string, data: Uint8Array = EMPTY, offset?: number) {
    super(`${errorCodeName(code)} / ${errorSubcodeName(code, subcode)}: ${detail}`);
    this.detail = detail;
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    this.offset = offset;
  }

  /** The stable names of code and subcode, e.g. "UPDATE Message Error / Malformed AS_PATH". */
  get codeName(): string {
    return `${errorCodeName(this.code)} / ${errorSubcodeName(this.code, this.subcode)}`;
  }

  toNotification(): NotificationMessage {
    return { type: 'notification', code: this.code, subcode: this.subcode, data: this.data };
  }
}

export class MessageHeaderError extends BgpError {
  override readonly name = 'MessageHeaderError';
  constructor(subcode: number, detail: string, data?: Uint8Array, offset?: number) {
    super(ErrorCode.MESSAGE_HEADER, subcode, detail, data, offset);
  }
}

export class OpenMessageError extends BgpError {
  override readonly name = 'OpenMessageError';
  constructor(subcode: number, detail: string, data?: Uint8Array, offset?: number) {
    super(ErrorCode.OPEN_MESSAGE, subcode, detail, data, offset);
  }
}

/**
 * RFC 7606 section 2: how an UPDATE error is handled. `reset` sends the NOTIFICATION and closes the
 * session; `withdraw` treats every route in the UPDATE as withdrawn; `discard` drops one attribute.
 */
export type UpdateErrorAction = 'reset' | 'withdraw' | 'discard';

export class UpdateMessageError extends BgpError {
  override readonly name = 'UpdateMessageError';
  readonly action: UpdateErrorAction;
  constructor(
    subcode: number,
    detail: string,
    data?: Uint8Array,
    offset?: number,
    action: UpdateErrorAction = 'reset',
  ) {
    super(ErrorCode.UPDATE_MESSAGE, subcode, detail, data, offset);
    this.action = action;
  }
}

export class HoldTimerExpired extends BgpError {
  override readonly name = 'HoldTimerExpired';
  constructor(detail = 'hold timer expired') {
    super(ErrorCode.HOLD_TIMER_EXPIRED, 0, detail);
  }
}

export class FsmError extends BgpError {
  override readonly name = 'FsmError';
  constructor(subcode: number, detail: string) {
    super(ErrorCode.FSM, subcode, detail);
  }
}

export class Cease extends BgpError {
  override readonly name = 'Cease';
  constructor(subcode: number, detail: string, data?: Uint8Array) {
    super(ErrorCode.CEASE, subcode, detail, data);
  }
}

export class RouteRefreshError extends BgpError {
  override readonly name = 'RouteRefreshError';
  constructor(subcode: number, detail: string, data?: Uint8Array, offset?: number) {
    super(ErrorCode.ROUTE_REFRESH, subcode, detail, data, offset);
  }
}

/** Makes the error a reader throws when a field runs past the end of its bounds. */
export type OverrunError = (detail: string, offset: number) => BgpError;

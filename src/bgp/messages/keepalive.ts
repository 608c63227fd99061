// RFC 4271 4.4: KEEPALIVE is the 19-octet header alone (its length is checked with the header).

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: 'keepalive' });

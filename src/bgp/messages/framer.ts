// Framer: cuts a TCP byte stream into BGP messages. Synchronous: push bytes, get whole messages.
// The header is checked as soon as its 19 bytes are in (marker, length bounds, type), so a bad length
// fails at once instead of waiting for bytes it promises (RFC 4271 6.1 and BIRD's bgp_rx). Messages
// that came before a bad header are still returned (the peer's NOTIFICATION saying why it closes, say);
// after an error the framer stays failed and the session must close.

import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './context.js';
import type { BgpError } from './errors.js';
import { checkHeader, HEADER_LENGTH } from './header.js';

export class Framer {
  /** A message split across chunks: its bytes so far, in a buffer sized for the whole message. */
  private partial: Uint8Array | undefined;
  private partialLen = 0;
  private partialNeed = HEADER_LENGTH;
  private failed: BgpError | undefined;
  /** Stream offset of the next byte pushed, for error reports. */
  private streamPos = 0;
  maxLength: number;

  constructor(opts: { extendedMessage?: boolean } = {}) {
    this.maxLength = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** RFC 8654: after the capability is negotiated, messages may be up to 65535 bytes. */
  setExtendedMessage(on: boolean): void {
    this.maxLength = on ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** Bytes buffered but not yet returned as a message. */
  get buffered(): number {
    return this.partialLen;
  }

  /** The header error that stopped this framer, if any: check it after handling what `push` returned. */
  get error(): BgpError | undefined {
    return this.failed;
  }

  /**
   * Adds bytes from the stream and returns every message now complete (header included). A message
   * that lay whole inside `chunk` is a view of it (no copy); one that spanned chunks is a fresh
   * buffer. A bad header throws a MessageHeaderError (its offset the stream offset of the field), unless
   * whole messages came before it in this chunk: then those are returned, `error` is set, and the next
   * push throws it.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) throw this.failed;
    const out: Uint8Array[] = [];
    try {
      this.frame(chunk, out);
    } catch (e) {
      if (out.length === 0) throw e;
      this.partial = undefined;
      this.partialLen = 0;
    }
    return out;
  }

  private frame(chunk: Uint8Array, out: Uint8Array[]): void {
    const base = this.streamPos;
    this.streamPos += chunk.length;
    let pos = 0;
    if (this.partial) {
      pos = this.fillPartial(chunk, base, out);
      if (this.partial) return;
    }
    const end = chunk.length;
    while (end - pos >= HEADER_LENGTH) {
      const length = this.header(chunk, pos, base + pos);
      if (end - pos < length) break;
      out.push(chunk.subarray(pos, pos + length));
      pos += length;
    }
    if (pos < end) {
      this.partial = new Uint8Array(HEADER_LENGTH);
      this.partialLen = 0;
      this.partialNeed = HEADER_LENGTH;
      this.fillPartial(chunk.subarray(pos), base + pos, out);
    }
  }

  /** Copies from `src` into the partial message; returns how many bytes of `src` it took. */
  private fillPartial(src: Uint8Array, srcBase: number, out: Uint8Array[]): number {
    let taken = 0;
    for (;;) {
      const partial = this.partial!;
      const n = Math.min(this.partialNeed - this.partialLen, src.length - taken);
      partial.set(src.subarray(taken, taken + n), this.partialLen);
      this.partialLen += n;
      taken += n;
      if (this.partialLen < this.partialNeed) return taken;
      if (this.partialNeed === HEADER_LENGTH) {
        const length = this.header(partial, 0, srcBase + taken - this.partialLen);
        if (length > HEADER_LENGTH) {
          const grown = new Uint8Array(length);
          grown.set(partial);
          this.partial = grown;
          this.partialNeed = length;
          continue;
        }
      }
      out.push(this.partial!);
      this.partial = undefined;
      this.partialLen = 0;
      this.partialNeed = HEADER_LENGTH;
      return taken;
    }
  }

  private header(bytes: Uint8Array, off: number, streamOff: number): number {
    try {
      return checkHeader(bytes, off, this.maxLength).length;
    } catch (e) {
      const err = e as BgpError;
      err.offset = streamOff + (err.offset ?? 0);
      this.failed = err;
      throw err;
    }
  }
}

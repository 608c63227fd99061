// `tern decode`: BGP messages as hex -> one JSON object per message (docs/decode.md).
// Pure of I/O: takes text lines and a context, returns output lines and errors, so the command and the
// tests share it.

import { fromHex } from '../bgp/json/hex.js';
import { messageToJson } from '../bgp/json/index.js';
import { type CodecContext, makeContext } from '../bgp/messages/context.js';
import { BgpError } from '../bgp/messages/errors.js';
import { Framer } from '../bgp/messages/framer.js';
import { Afi, familyKey, Safi } from '../bgp/messages/iana.js';
import { decodeMessage } from '../bgp/messages/message.js';

export interface DecodeOptions {
  readonly as2?: boolean;
  /** Comma-separated families: ipv4-unicast, ipv6-unicast. */
  readonly addPath?: string;
  readonly extendedMessage?: boolean;
}

const FAMILIES: Readonly<Record<string, number>> = {
  'ipv4-unicast': familyKey(Afi.IPV4, Safi.UNICAST),
  'ipv6-unicast': familyKey(Afi.IPV6, Safi.UNICAST),
};

/** The codec context the flags describe; throws an Error naming a bad family. */
export function contextFromOptions(opts: DecodeOptions): CodecContext {
  const addPath = new Set<number>();
  if (opts.addPath) {
    for (const name of opts.addPath
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const key = FAMILIES[name];
      if (key === undefined) {
        throw new Error(
          `--add-path: unknown family "${name}" (expected ${Object.keys(FAMILIES).join(', ')})`,
        );
      }
      addPath.add(key);
    }
  }
  return makeContext({ as4: !opts.as2, addPath, extendedMessage: opts.extendedMessage ?? false });
}

export interface DecodeResult {
  /** JSON lines, one per decoded message. */
  readonly out: string[];
  /** One-line errors, one per input that failed. */
  readonly errors: string[];
}

function describe(err: BgpError, where: string, base: number): string {
  const at = err.offset !== undefined ? ` at byte ${base + err.offset}` : '';
  return `${where}: ${err.codeName} (${err.code}/${err.subcode})${at}: ${err.message.replace(/^[^:]*: /, '')}`;
}

/**
 * Decodes each input (hex; ':' and white space ignored). An input may hold several whole messages back
 * to back. Byte offsets in errors count from the start of that input.
 */
export function decodeInputs(inputs: readonly string[], ctx: CodecContext): DecodeResult {
  const out: string[] = [];
  const errors: string[] = [];
  inputs.forEach((text, i) => {
    const where = `input ${i + 1}`;
    const bytes = fromHex(text);
    if (!bytes) {
      errors.push(`${where}: not hex (expected pairs of 0-9a-f; ':' and spaces are ignored)`);
      return;
    }
    if (bytes.length === 0) return;
    const framer = new Framer({ extendedMessage: ctx.extendedMessage });
    let messages: Uint8Array[];
    try {
      messages = framer.push(bytes);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      errors.push(describe(e, where, 0));
      return;
    }
    let base = 0;
    for (const m of messages) {
      try {
        out.push(JSON.stringify(messageToJson(decodeMessage(m, ctx))));
      } catch (e) {
        if (!(e instanceof BgpError)) throw e;
        errors.push(describe(e, where, base));
        return;
      }
      base += m.length;
    }
    if (framer.error) {
      // whole messages came before a bad header: they were printed, now the error
      errors.push(describe(framer.error, where, 0));
    } else if (framer.buffered > 0) {
      errors.push(
        `${where}: Message Header Error / Bad Message Length (1/2) at byte ${base}: ` +
          `${framer.buffered} bytes after the last whole message (truncated input)`,
      );
    }
  });
  return { out, errors };
}

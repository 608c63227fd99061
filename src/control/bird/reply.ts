// BIRD's client reply protocol (BIRD nest/cli.c, cli_printf; doc/reply_codes), as `birdc`, `birdcl` and
// Calico's parsers read it. A reply is a sequence of lines, each starting with a 4-digit code:
//
//   1002-Mesh_10_0_0_2 BGP ...     code and '-': a line of the reply, more follow
//    Mesh_10_0_0_3 BGP ...         a space: another line with the same code as the line before
//   0000                           code and ' ': the last line of the reply
//
// A line with the code of the previous line of the same reply starts with a single space instead of
// "<code>-" (what BIRD does, and what Calico's parsers expect of the protocol table). 0xxx: done, 1xxx:
// table entry, 2xxx: table heading, 8xxx: run-time error, 9xxx: parse error; `+` spontaneous output
// (never sent here). The greeting on connect is the reply `0001 BIRD <version> ready.`.

/** One line of a reply: its code and text (no newline). */
export interface ReplyLine {
  readonly code: number;
  readonly text: string;
}

/** Reply codes tern uses (BIRD doc/reply_codes). */
export const Code = {
  OK: 0,
  WELCOME: 1,
  READING_CONFIGURATION: 2,
  RECONFIGURED: 3,
  RECONFIGURATION_IN_PROGRESS: 4,
  RECONFIGURATION_QUEUED: 5,
  STATUS: 13,
  ROUTE_COUNT: 14,
  ACCESS_RESTRICTED: 16,
  NOTHING_TO_DO: 19,
  CONFIGURATION_OK: 20,
  UNDO_REQUESTED: 21,
  GRACEFUL_RESTART_STATUS: 24,
  VERSION: 1000,
  PROTOCOL_LIST: 1002,
  PROTOCOL_DETAILS: 1006,
  ROUTE_LIST: 1007,
  ROUTE_DETAILS: 1008,
  UPTIME: 1011,
  ROUTE_ATTRIBUTES: 1012,
  MEMORY: 1018,
  PROTOCOL_HEADING: 2002,
  /** The first run-time error code (BIRD: reply too long); tern's own failures use it. */
  RUNTIME_ERROR: 8000,
  ROUTE_NOT_FOUND: 8001,
  CONFIGURATION_ERROR: 8002,
  NO_PROTOCOLS_MATCH: 8003,
  ACCESS_DENIED: 8007,
  COMMAND_TOO_LONG: 9000,
  PARSE_ERROR: 9001,
  INVALID_SYMBOL: 9002,
} as const;

/**
 * Encodes the lines of one reply, one at a time: `line` for each line but the last, `end` for the last.
 * Keeps the code of the previous line (BIRD's `last_reply`) to write continuations as a single space.
 */
export class ReplyEncoder {
  private last = -1;

  line(l: ReplyLine): string {
    const prefix = l.code === this.last ? ' ' : `${code4(l.code)}-`;
    this.last = l.code;
    return `${prefix}${clean(l.text)}\n`;
  }

  end(l: ReplyLine): string {
    this.last = -1;
    return `${code4(l.code)} ${clean(l.text)}\n`;
  }
}

/** A whole reply as text: `lines`, then `end` as its last line. */
export function encodeReply(lines: Iterable<ReplyLine>, end: ReplyLine): string {
  const enc = new ReplyEncoder();
  let out = '';
  for (const l of lines) out += enc.line(l);
  return out + enc.end(end);
}

/** The greeting BIRD sends when a client connects. */
export function greeting(version: string): string {
  return encodeReply([], { code: Code.WELCOME, text: `BIRD ${version} ready.` });
}

function code4(code: number): string {
  return String(code).padStart(4, '0');
}

/** A reply line is one line: line breaks in the text (an error message, say) become spaces. */
function clean(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/\r?\n|\r/g, ' ') : text;
}

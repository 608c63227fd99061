// The BIRD-compatible control socket: a Unix socket that speaks BIRD's CLI protocol (reply.ts), so that
// `birdc -s <path>`, `birdcl`, `calicoctl node status` and calico-node's health checks work against tern.
// A client gets the greeting on connect, then writes one command per line and gets one reply each, in
// order. Long replies (`show route` of a big table) are written in slices, waiting while the client does
// not read, so the event loop never stops for one. The socket file and the clients are handled as the
// JSON socket's are (socket-path.ts ControlListener: mode 0660, a live socket refused, a stale one
// removed, nothing else touched; clients bounded in number and idle time).

import type { Socket } from 'node:net';
import type { Logger } from '../../log.js';
import type { ReloadCounts } from '../../speaker/speaker.js';
import { ControlListener } from '../socket-path.js';
import { answer } from './answer.js';
import { type BirdCommand, parseCommand } from './commands.js';
import { errorReply, fixedReply, type Reply } from './format.js';
import { Code, greeting, ReplyEncoder, type ReplyLine } from './reply.js';
import type { BirdSource } from './source.js';

export type ReloadOutcome =
  /** `peers`: what the reload did to them (absent for a check, which applies nothing). */
  { readonly ok: true; readonly peers?: ReloadCounts } | { readonly ok: false; readonly error: string };

/** How `configure` reaches the daemon's reload (run.ts provides it). */
export interface BirdConfigure {
  /** The config file, for `0002-Reading configuration from <file>`. */
  readonly file: string;
  /** Loads the file and applies it (queued behind a reload under way); resolves with the outcome. */
  reload(): Promise<ReloadOutcome>;
  /** Loads and validates the file without applying it. */
  check(): ReloadOutcome;
  /** A reload is under way. */
  busy(): boolean;
}

export interface BirdServerOptions {
  /** The version after "BIRD " in the greeting. */
  readonly version: string;
  /** The group owning the socket (a name or a gid); default: the process's group. */
  readonly group?: string | number;
  /** The config field naming the path, for messages (`control.birdSocket`). */
  readonly field?: string;
  /** Absent: `configure` answers that tern has no file to reload. */
  readonly configure?: BirdConfigure;
  /** A client that sends and reads nothing for this long is closed (ms). */
  readonly idleTimeoutMs?: number;
  /** Clients at once; more are closed as they connect. */
  readonly maxClients?: number;
  /** How long `configure` waits for the reload before answering `0004 Reconfiguration in progress`. */
  readonly configureWaitMs?: number;
  /** The clock (ms since the epoch), for tests. */
  readonly now?: () => number;
}

/** BIRD's command buffer: a longer line gets `9000 Command too long`. */
export const MAX_COMMAND = 4096;
/** Reply text written at once before the writer looks at the socket again. */
const SLICE_BYTES = 64 * 1024;
/** Past this much unwritten output the writer waits for `drain`. */
const HIGH_WATER = 256 * 1024;
/** Commands waiting for a client that does not read its replies: past this, it is not read from. */
const MAX_PENDING_INPUT = 64 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_CLIENTS = 64;
const DEFAULT_CONFIGURE_WAIT_MS = 1500;

export class BirdControlServer extends ControlListener {
  constructor(
    path: string,
    private readonly source: BirdSource,
    log: Logger,
    private readonly opts: BirdServerOptions,
  ) {
    super(path, log, {
      ...(opts.group !== undefined ? { group: opts.group } : {}),
      field: opts.field ?? 'control.birdSocket',
      maxClients: opts.maxClients ?? DEFAULT_MAX_CLIENTS,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      label: 'BIRD-compatible control',
      // `printf 'show status\n' | socat - UNIX-CONNECT:...` ends its input first: answer, then close
      allowHalfOpen: true,
    });
  }

  protected onClient(socket: Socket): void {
    socket.setEncoding('utf8');
    new BirdClient(socket, this, this.opts.version).start();
  }

  /** The reply to one request line of a client. */
  async reply(line: string, client: { restricted: boolean }): Promise<Reply> {
    const parsed = parseCommand(line);
    if (!parsed.ok) return errorReply(parsed.code, parsed.message);
    const cmd = parsed.command;
    const now = (this.opts.now ?? Date.now)();
    switch (cmd.kind) {
      case 'restrict':
        client.restricted = true;
        return errorReply(Code.ACCESS_RESTRICTED, 'Access restricted');
      case 'configure':
        if (client.restricted) return errorReply(Code.ACCESS_DENIED, 'Access denied');
        return this.configure(cmd);
      default:
        return answer(cmd, this.source, now);
    }
  }

  /** BIRD's cmd_reconfig / cmd_check_config / cmd_reconfig_confirm / cmd_reconfig_undo. */
  private async configure(cmd: Extract<BirdCommand, { kind: 'configure' }>): Promise<Reply> {
    const c = this.opts.configure;
    if (cmd.mode === 'confirm') return errorReply(Code.NOTHING_TO_DO, 'Nothing to do');
    if (cmd.mode === 'undo') {
      return fixedReply([{ code: Code.UNDO_REQUESTED, text: 'Undo requested' }], {
        code: Code.NOTHING_TO_DO,
        text: 'Nothing to do',
      });
    }
    if (!c) return errorReply(Code.CONFIGURATION_ERROR, 'tern runs without a configuration file to reload');
    const reading: ReplyLine = {
      code: Code.READING_CONFIGURATION,
      text: `Reading configuration from ${c.file}`,
    };
    if (cmd.mode === 'check') {
      const r = c.check();
      return r.ok
        ? fixedReply([reading], { code: Code.CONFIGURATION_OK, text: 'Configuration OK' })
        : configError(reading, r.error);
    }
    const queued = c.busy();
    this.log.info({ socket: this.path }, 'configure (BIRD socket): reloading the configuration');
    // never rejects: a failed reload is an 8002 here (or, once answered, only the daemon's log line)
    const outcome = c.reload().catch(
      (e: unknown): ReloadOutcome => ({
        ok: false,
        error: e instanceof Error ? e.message : String(e),
      }),
    );
    if (queued) {
      return fixedReply([reading], {
        code: Code.RECONFIGURATION_QUEUED,
        text: 'Reconfiguration already in progress, queueing new config',
      });
    }
    const wait = this.opts.configureWaitMs ?? DEFAULT_CONFIGURE_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), wait);
    });
    const r = await Promise.race([outcome, late]);
    clearTimeout(timer);
    if (r === undefined) {
      return fixedReply([reading], {
        code: Code.RECONFIGURATION_IN_PROGRESS,
        text: 'Reconfiguration in progress',
      });
    }
    return r.ok
      ? fixedReply([reading], { code: Code.RECONFIGURED, text: 'Reconfigured' })
      : configError(reading, r.error);
  }
}

/** `8002 <error>`: a message of several lines (one per config problem) as several 8002 lines. */
function configError(reading: ReplyLine, error: string): Reply {
  const parts = error.split('\n').filter((l) => l.trim() !== '');
  const last = parts.pop() ?? 'configuration error';
  return fixedReply([reading, ...parts.map((text) => ({ code: Code.CONFIGURATION_ERROR, text }))], {
    code: Code.CONFIGURATION_ERROR,
    text: last,
  });
}

/** One connection: its input, one command at a time, and the replies written as the client reads. */
class BirdClient {
  restricted = false;
  private input = '';
  /** Dropping the rest of a line that was too long, up to its newline. */
  private discarding = false;
  private running = false;
  /** The client ended its input: close once the lines received are answered. */
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: BirdControlServer,
    private readonly version: string,
  ) {}

  start(): void {
    this.socket.write(greeting(this.version));
    this.socket.on('data', (chunk: string) => {
      this.input += chunk;
      if (this.input.length > MAX_PENDING_INPUT) this.socket.pause();
      void this.run();
    });
    this.socket.on('end', () => {
      this.ended = true;
      void this.run();
    });
  }

  private get gone(): boolean {
    return this.socket.destroyed || this.socket.writableEnded;
  }

  /** Answers the complete lines received, in order; one run at a time. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.gone) {
        if (this.discarding) {
          const nl = this.input.indexOf('\n');
          if (nl < 0) {
            this.input = '';
            break;
          }
          this.input = this.input.slice(nl + 1);
          this.discarding = false;
          continue;
        }
        const nl = this.input.indexOf('\n');
        if (nl < 0) {
          if (this.input.length > MAX_COMMAND) {
            this.input = '';
            this.discarding = true;
            await this.write(errorReply(Code.COMMAND_TOO_LONG, 'Command too long'));
            continue;
          }
          break;
        }
        const line = this.input.slice(0, nl).replace(/\r$/, '');
        this.input = this.input.slice(nl + 1);
        if (line.length > MAX_COMMAND) {
          await this.write(errorReply(Code.COMMAND_TOO_LONG, 'Command too long'));
          continue;
        }
        let reply: Reply;
        try {
          reply = await this.server.reply(line, this);
        } catch (e) {
          reply = fixedReply([], internalError(e));
        }
        await this.write(reply);
      }
    } finally {
      this.running = false;
      if (this.ended && !this.gone) this.socket.end();
      else if (!this.gone && this.input.length <= MAX_PENDING_INPUT) this.socket.resume();
    }
  }

  /** Writes a reply in slices, waiting for `drain` when the client lags. */
  private async write(reply: Reply): Promise<void> {
    const enc = new ReplyEncoder();
    let out = '';
    for (;;) {
      let step: IteratorResult<ReplyLine, ReplyLine>;
      try {
        step = reply.next();
      } catch (e) {
        // a bug: the client gets a run-time error instead of a reply cut in the middle
        step = { done: true, value: internalError(e) };
      }
      if (step.done) {
        if (!this.gone) this.socket.write(out + enc.end(step.value));
        return;
      }
      out += enc.line(step.value);
      if (out.length < SLICE_BYTES) continue;
      if (this.gone) return;
      this.socket.write(out);
      out = '';
      await (this.socket.writableLength > HIGH_WATER ? drained(this.socket) : nextTurn());
    }
  }
}

/** A bug reported as a run-time error (8xxx) rather than a reply that never ends. */
function internalError(e: unknown): ReplyLine {
  return {
    code: Code.RUNTIME_ERROR,
    text: `tern internal error: ${e instanceof Error ? e.message : String(e)}`,
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

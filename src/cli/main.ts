#!/usr/bin/env -S node --max-semi-space-size=4
// The `tern` command.
//
// The V8 option in the line above caps the young generation's semi-spaces at 4 MiB (16 by default): a
// busy tern grows them to the default within a second of work and keeps them, which is most of what a
// reflector with a small table holds above its idle RSS. bench:rr: peak RSS 18-20 MB lower in every
// scenario (S1 200 sessions: 102-103 -> 85-86 MB), at the same speed (docs/performance.md). It is
// set on the command line because V8 reads it only when the heap is set up.

import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS } from '../config/types.js';
import { LOG_FORMATS, type LogFormat, type LogLevel } from '../log.js';
import { ternVersion } from '../version.js';
import { type CalicoOptions, runCalicoRender } from './calico.js';
import { runCheck } from './check.js';
import { contextFromOptions, type DecodeOptions, decodeInputs } from './decode.js';
import { runDemo } from './demo.js';
import { runReload } from './reload.js';
import { runDaemon } from './run.js';
import { controlRequest, DEFAULT_SOCKET, formatShow } from './show.js';
import { runStop } from './stop.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface CalicoFlags {
  calico?: string;
  /** `--calico-etcd` alone: the endpoints come from ETCD_ENDPOINTS. */
  calicoEtcd?: string | true;
  etcdPrefix?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  node?: string;
  routerId?: string;
  controlSocket?: string;
  birdSocket?: string;
  bird6Socket?: string;
  kernelWrite?: boolean;
  metrics?: string;
}

function calicoOptions(f: CalicoFlags, pollSeconds?: number): CalicoOptions {
  const etcd =
    f.calicoEtcd === undefined
      ? undefined
      : {
          ...(typeof f.calicoEtcd === 'string' ? { endpoints: f.calicoEtcd } : {}),
          ...(f.etcdPrefix !== undefined ? { prefix: f.etcdPrefix } : {}),
          ...(f.etcdCa !== undefined ? { ca: f.etcdCa } : {}),
          ...(f.etcdCert !== undefined ? { cert: f.etcdCert } : {}),
          ...(f.etcdKey !== undefined ? { key: f.etcdKey } : {}),
        };
  return {
    ...(f.calico !== undefined ? { calico: f.calico } : {}),
    ...(etcd !== undefined ? { etcd } : {}),
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(f.routerId !== undefined ? { routerId: f.routerId } : {}),
    ...(f.controlSocket !== undefined ? { controlSocket: f.controlSocket } : {}),
    ...(f.birdSocket !== undefined ? { birdSocket: f.birdSocket } : {}),
    ...(f.bird6Socket !== undefined ? { bird6Socket: f.bird6Socket } : {}),
    ...(f.kernelWrite === false ? { kernelWrite: false } : {}),
    ...(f.metrics !== undefined ? { metrics: f.metrics } : {}),
    ...(pollSeconds !== undefined ? { pollSeconds } : {}),
  };
}

/** The options of Calico's etcd datastore, shared by `tern run` and `tern calico render`. */
function etcdFlags(cmd: Command, pre: string): Command {
  return cmd
    .option(
      '--calico-etcd [endpoints]',
      `${pre}Calico's etcd v3 datastore: endpoints, comma-separated (default: $ETCD_ENDPOINTS)`,
    )
    .option('--etcd-prefix <prefix>', "with --calico-etcd: the key prefix (default: Calico's /calico)")
    .option('--etcd-ca <file>', 'with --calico-etcd: CA certificate, PEM (default: $ETCD_CA_CERT_FILE)')
    .option('--etcd-cert <file>', 'with --calico-etcd: client certificate, PEM (default: $ETCD_CERT_FILE)')
    .option('--etcd-key <file>', 'with --calico-etcd: client key, PEM (default: $ETCD_KEY_FILE)');
}

/** Exactly one of -c, --calico, --calico-etcd (`config` only for `tern run`); the message, or undefined. */
function oneSource(f: CalicoFlags & { config?: string }, withConfig: boolean): string | undefined {
  const given = [withConfig && f.config !== undefined, f.calico !== undefined, f.calicoEtcd !== undefined];
  if (given.filter(Boolean).length === 1) return undefined;
  return withConfig
    ? 'give either -c <config> or --calico <path> or --calico-etcd <endpoints> (with --node <name>)'
    : 'give either --calico <path> or --calico-etcd <endpoints>';
}

interface ShowOptions {
  readonly socket: string;
  readonly peer?: string;
  readonly all?: boolean;
  readonly export?: string;
  readonly json?: boolean;
}

/** A `tern show` option that does not go with the view asked for, said before asking the daemon. */
function showMisuse(what: string, prefix: string | undefined, opts: ShowOptions): string | undefined {
  const routeOnly = [
    prefix !== undefined ? `a prefix ("${prefix}")` : undefined,
    opts.all ? '--all' : undefined,
    opts.export !== undefined ? '--export' : undefined,
  ].filter((x) => x !== undefined);
  if (what !== 'routes' && routeOnly.length > 0) return `${routeOnly.join(' and ')}: only for show routes`;
  if (what !== 'routes' && what !== 'neighbors' && opts.peer !== undefined)
    return '--peer: only for show neighbors and show routes';
  const views = [opts.all ? '--all' : undefined, opts.export !== undefined ? '--export' : undefined];
  if (opts.peer !== undefined) views.push('--peer');
  const picked = views.filter((x) => x !== undefined);
  if (what === 'routes' && picked.length > 1)
    return `${picked.join(', ')}: pick one (--peer: what a peer sent, --all: the Loc-RIB, --export: what was sent)`;
  return undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name('tern')
    .description('A BGP speaker and route reflector for Calico-style networks')
    .version(ternVersion());
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('decode')
    .description('decode BGP messages given as hex (arguments, or stdin one per line) into JSON lines')
    .argument('[hex...]', 'messages as hex; ":" and spaces are ignored')
    .option('--as2', 'the peer speaks 2-octet AS numbers (no 4-octet AS capability)')
    .option(
      '--add-path <families>',
      'ADD-PATH was negotiated (receive) for these families: ipv4-unicast,ipv6-unicast',
    )
    .option('--extended-message', 'messages up to 65535 bytes (RFC 8654)')
    .action(async (hex: string[], opts: DecodeOptions) => {
      const ctx = contextFromOptions(opts);
      const inputs = hex.length > 0 ? hex : (await readStdin()).split('\n').filter((l) => l.trim() !== '');
      const { out, errors } = decodeInputs(inputs, ctx);
      if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
      for (const e of errors) process.stderr.write(`tern decode: ${e}\n`);
      if (errors.length > 0) code = 1;
    });

  const run = program
    .command('run')
    .description('run the BGP daemon')
    .option('-c, --config <file>', 'configuration file (YAML or JSON, see docs/config.md)')
    .option(
      '--calico <path>',
      'instead of -c: Calico resources, a YAML file or a directory (docs/calico.md)',
    );
  etcdFlags(run, 'instead of -c: ')
    .option('--node <name>', 'with --calico: the name of this node (default: $NODENAME)')
    .option(
      '--router-id <id>',
      'with --calico: router id, an IPv4 address or "hash" (default: $CALICO_ROUTER_ID)',
    )
    .option('--control-socket <path>', 'with --calico: control.socket')
    .option('--bird-socket <path>', 'with --calico: control.birdSocket (BIRD-compatible, IPv4)')
    .option('--bird6-socket <path>', 'with --calico: control.bird6Socket (BIRD-compatible, IPv6)')
    .option('--no-kernel-write', 'with --calico: do not write routes to the kernel')
    .option('--metrics <[address:]port>', 'with --calico: the Prometheus endpoint (metrics; default: off)')
    .addOption(
      new Option('--log-level <level>', "log level (default: the config file's log.level)").choices(
        LOG_LEVELS,
      ),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines as JSON, or pretty (one readable line each); default: pretty on a terminal, else json',
      ).choices(LOG_FORMATS),
    )
    .option('--watch <seconds>', 'poll the config file for changes every N seconds (0: only on SIGHUP)', '2')
    .option(
      '--graceful',
      "start again after a graceful stop (SIGTERM, tern stop; RFC 4724): Restart bit, routes sent after the peers' End-of-RIB",
    )
    .action(
      async (
        opts: CalicoFlags & {
          config?: string;
          logLevel?: LogLevel;
          logFormat?: LogFormat;
          watch: string;
          graceful?: boolean;
        },
      ) => {
        const wrong = oneSource(opts, true);
        if (wrong !== undefined) {
          process.stderr.write(`tern run: ${wrong}\n`);
          code = 2;
          return;
        }
        code = await runDaemon({
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          ...(opts.config === undefined ? { calico: calicoOptions(opts, Number(opts.watch)) } : {}),
          ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
          ...(opts.logFormat ? { logFormat: opts.logFormat } : {}),
          watch: Number(opts.watch),
          graceful: opts.graceful === true,
        });
      },
    );

  program
    .command('demo')
    .description('a small network on loopback, no root: 3 nodes and a route reflector; shows them converge')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--port <port>', "the reflector's port on 127.0.0.10 (default: any free port)", '0')
    .addOption(new Option('--log-level <level>', 'log level of the speakers (stderr)').choices(LOG_LEVELS))
    .action(async (opts: { duration?: string; port: string; logLevel?: LogLevel }) => {
      const duration = opts.duration === undefined ? undefined : Number(opts.duration);
      const port = Number(opts.port);
      if (duration !== undefined && !(duration > 0)) {
        process.stderr.write(
          `tern demo: --duration: expected a number of seconds > 0, got "${opts.duration}"\n`,
        );
        code = 2;
        return;
      }
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`tern demo: --port: expected an integer 0..65535, got "${opts.port}"\n`);
        code = 2;
        return;
      }
      code = await runDemo({
        ...(duration !== undefined ? { duration } : {}),
        port,
        ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
        out: (s) => process.stdout.write(`${s}\n`),
        err: (s) => process.stderr.write(`${s}\n`),
      });
    });

  const render = program
    .command('calico')
    .description('Calico resources -> tern config')
    .command('render')
    .description('print the native config (YAML) that Calico resources give a node; exit 1 on any error')
    .option(
      '--calico <path>',
      'Calico resources: a YAML file or a directory (calicoctl/kubectl get -o yaml)',
    );
  etcdFlags(render, 'instead of --calico: ')
    .option('--node <name>', 'the name of this node (default: $NODENAME)')
    .option('--router-id <id>', 'router id, an IPv4 address or "hash" (default: $CALICO_ROUTER_ID)')
    .option('--control-socket <path>', 'control.socket of the rendered config')
    .option('--bird-socket <path>', 'control.birdSocket (BIRD-compatible, IPv4)')
    .option('--bird6-socket <path>', 'control.bird6Socket (BIRD-compatible, IPv6)')
    .option('--no-kernel-write', "kernel.write: false (Calico's BIRD writes routes; this keeps tern from it)")
    .option('--metrics <[address:]port>', 'metrics of the rendered config: the Prometheus endpoint')
    .action(async (opts: CalicoFlags) => {
      const wrong = oneSource(opts, false);
      if (wrong !== undefined) {
        process.stderr.write(`tern calico render: ${wrong}\n`);
        code = 2;
        return;
      }
      code = await runCalicoRender(
        calicoOptions(opts),
        (s) => process.stdout.write(`${s}\n`),
        (s) => process.stderr.write(`${s}\n`),
      );
    });

  program
    .command('check')
    .description('validate a configuration file and print the effective peers')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--json', 'print the effective configuration as JSON')
    .action((opts: { config: string; json?: boolean }) => {
      code = runCheck(
        opts.config,
        (s) => process.stdout.write(`${s}\n`),
        (s) => process.stderr.write(`${s}\n`),
        opts.json === true,
      );
    });

  program
    .command('show')
    .description('ask the running daemon: protocols, neighbors, routes or status')
    .argument('<what>', 'protocols | neighbors | routes | status')
    .argument('[prefix]', 'routes: only this prefix')
    .option('-s, --socket <path>', 'control socket of the daemon', DEFAULT_SOCKET)
    .option('--peer <name|address>', 'only this peer (neighbors; routes: what it sent)')
    .option('--all', 'routes: the Loc-RIB, every candidate with the best marked and why it won')
    .option('--export <name|address>', 'routes: what tern sent to this peer, as it went on the wire')
    .option('--json', 'print the JSON the daemon sent')
    .action(async (what: string, prefix: string | undefined, opts: ShowOptions) => {
      const known = ['protocols', 'neighbors', 'routes', 'status'];
      if (!known.includes(what)) {
        process.stderr.write(`tern show: unknown "${what}" (expected ${known.join(', ')})\n`);
        code = 2;
        return;
      }
      const misuse = showMisuse(what, prefix, opts);
      if (misuse !== undefined) {
        process.stderr.write(`tern show: ${misuse}\n`);
        code = 2;
        return;
      }
      try {
        const all = what === 'routes' && opts.all === true;
        const result = await controlRequest(opts.socket, `show ${what}`, {
          ...(opts.peer ? { peer: opts.peer } : {}),
          ...(all ? { all: true } : {}),
          ...(opts.export !== undefined ? { export: opts.export } : {}),
          ...(prefix !== undefined ? { prefix } : {}),
        });
        const format = all ? 'rib' : opts.export !== undefined ? 'export' : what;
        const text = opts.json ? JSON.stringify(result, null, 2) : formatShow(format, result);
        process.stdout.write(`${text}\n`);
      } catch (e) {
        process.stderr.write(`tern show: ${e instanceof Error ? e.message : String(e)}\n`);
        code = 1;
      }
    });

  program
    .command('reload')
    .description(
      'read the configuration again and apply it (as SIGHUP); says which peers changed, or why it was refused',
    )
    .option('-s, --socket <path>', 'control socket of the daemon', DEFAULT_SOCKET)
    .option('--json', "print the daemon's answer as JSON")
    .action(async (opts: { socket: string; json?: boolean }) => {
      code = await runReload({
        socket: opts.socket,
        json: opts.json === true,
        out: (s) => process.stdout.write(`${s}\n`),
        err: (s) => process.stderr.write(`${s}\n`),
      });
    });

  program
    .command('stop')
    .description(
      'stop the running daemon: a graceful restart (peers keep its routes), or --withdraw for a real shutdown',
    )
    .option('-s, --socket <path>', 'control socket of the daemon', DEFAULT_SOCKET)
    .option('--withdraw', 'Cease / Administrative Shutdown to every peer and remove its kernel routes')
    .option('--wait <seconds>', 'wait this long for the daemon to be gone (0: do not wait)', '30')
    .option('--json', "print the daemon's answer as JSON")
    .action(async (opts: { socket: string; withdraw?: boolean; wait: string; json?: boolean }) => {
      const wait = Number(opts.wait);
      if (!(wait >= 0)) {
        process.stderr.write(`tern stop: --wait: expected a number of seconds >= 0, got "${opts.wait}"\n`);
        code = 2;
        return;
      }
      code = await runStop({
        socket: opts.socket,
        withdraw: opts.withdraw === true,
        json: opts.json === true,
        wait,
        out: (s) => process.stdout.write(`${s}\n`),
        err: (s) => process.stderr.write(`${s}\n`),
      });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`tern: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return code;
}

/**
 * `tern ... | head -1`: when the reader of stdout goes away, stop quietly (status 0), as a command killed
 * by SIGPIPE would but without a stack trace. A closed stderr is ignored: nobody reads the errors.
 */
function quietWhenPipesClose(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`tern: cannot write the output: ${err.message}\n`);
    process.exit(74); // EX_IOERR
  });
  process.stderr.on('error', () => {});
}

quietWhenPipesClose();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tern: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 70;
  },
);

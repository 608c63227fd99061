#!/usr/bin/env node
// The `tern` command.

import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS } from '../config/types.js';
import type { LogLevel } from '../log.js';
import { ternVersion } from '../version.js';
import { type CalicoOptions, runCalicoRender } from './calico.js';
import { runCheck } from './check.js';
import { contextFromOptions, type DecodeOptions, decodeInputs } from './decode.js';
import { runDaemon } from './run.js';
import { controlRequest, DEFAULT_SOCKET, formatShow } from './show.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface CalicoFlags {
  calico?: string;
  node?: string;
  routerId?: string;
  controlSocket?: string;
  birdSocket?: string;
  bird6Socket?: string;
  kernelWrite?: boolean;
}

function calicoOptions(f: CalicoFlags, pollSeconds?: number): CalicoOptions {
  return {
    calico: f.calico ?? '',
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(f.routerId !== undefined ? { routerId: f.routerId } : {}),
    ...(f.controlSocket !== undefined ? { controlSocket: f.controlSocket } : {}),
    ...(f.birdSocket !== undefined ? { birdSocket: f.birdSocket } : {}),
    ...(f.bird6Socket !== undefined ? { bird6Socket: f.bird6Socket } : {}),
    ...(f.kernelWrite === false ? { kernelWrite: false } : {}),
    ...(pollSeconds !== undefined ? { pollSeconds } : {}),
  };
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

  program
    .command('run')
    .description('run the BGP daemon')
    .option('-c, --config <file>', 'configuration file (YAML or JSON, see docs/config.md)')
    .option('--calico <path>', 'instead of -c: Calico resources, a YAML file or a directory (docs/calico.md)')
    .option('--node <name>', 'with --calico: the name of this node (default: $NODENAME)')
    .option(
      '--router-id <id>',
      'with --calico: router id, an IPv4 address or "hash" (default: $CALICO_ROUTER_ID)',
    )
    .option('--control-socket <path>', 'with --calico: control.socket')
    .option('--bird-socket <path>', 'with --calico: control.birdSocket (BIRD-compatible, IPv4)')
    .option('--bird6-socket <path>', 'with --calico: control.bird6Socket (BIRD-compatible, IPv6)')
    .option('--no-kernel-write', 'with --calico: do not write routes to the kernel')
    .addOption(
      new Option('--log-level <level>', "log level (default: the config file's log.level)").choices(
        LOG_LEVELS,
      ),
    )
    .option('--watch <seconds>', 'poll the config file for changes every N seconds (0: only on SIGHUP)', '2')
    .option(
      '--graceful',
      "restart gracefully after SIGUSR2 (RFC 4724): Restart bit, routes sent after the peers' End-of-RIB",
    )
    .action(
      async (
        opts: CalicoFlags & { config?: string; logLevel?: LogLevel; watch: string; graceful?: boolean },
      ) => {
        if ((opts.config === undefined) === (opts.calico === undefined)) {
          process.stderr.write('tern run: give either -c <config> or --calico <path> (with --node <name>)\n');
          code = 2;
          return;
        }
        code = await runDaemon({
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          ...(opts.calico !== undefined ? { calico: calicoOptions(opts, Number(opts.watch)) } : {}),
          ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
          watch: Number(opts.watch),
          graceful: opts.graceful === true,
        });
      },
    );

  program
    .command('calico')
    .description('Calico resources -> tern config')
    .command('render')
    .description('print the native config (YAML) that Calico resources give a node; exit 1 on any error')
    .requiredOption(
      '--calico <path>',
      'Calico resources: a YAML file or a directory (calicoctl/kubectl get -o yaml)',
    )
    .option('--node <name>', 'the name of this node (default: $NODENAME)')
    .option('--router-id <id>', 'router id, an IPv4 address or "hash" (default: $CALICO_ROUTER_ID)')
    .option('--control-socket <path>', 'control.socket of the rendered config')
    .option('--bird-socket <path>', 'control.birdSocket (BIRD-compatible, IPv4)')
    .option('--bird6-socket <path>', 'control.bird6Socket (BIRD-compatible, IPv6)')
    .option('--no-kernel-write', "kernel.write: false (Calico's BIRD writes routes; this keeps tern from it)")
    .action((opts: CalicoFlags) => {
      code = runCalicoRender(
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
    .option('-s, --socket <path>', 'control socket of the daemon', DEFAULT_SOCKET)
    .option('--peer <name|address>', 'only this peer (neighbors, routes)')
    .option('--all', 'routes: the Loc-RIB, every candidate with the best marked and why it won')
    .option('--json', 'print the JSON the daemon sent')
    .action(async (what: string, opts: { socket: string; peer?: string; all?: boolean; json?: boolean }) => {
      const known = ['protocols', 'neighbors', 'routes', 'status'];
      if (!known.includes(what)) {
        process.stderr.write(`tern show: unknown "${what}" (expected ${known.join(', ')})\n`);
        code = 2;
        return;
      }
      try {
        const all = what === 'routes' && opts.all === true;
        const result = await controlRequest(opts.socket, `show ${what}`, {
          ...(opts.peer ? { peer: opts.peer } : {}),
          ...(all ? { all: true } : {}),
        });
        const text = opts.json ? JSON.stringify(result, null, 2) : formatShow(all ? 'rib' : what, result);
        process.stdout.write(`${text}\n`);
      } catch (e) {
        process.stderr.write(`tern show: ${e instanceof Error ? e.message : String(e)}\n`);
        code = 1;
      }
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

#!/usr/bin/env node
// The `tern` command.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { contextFromOptions, type DecodeOptions, decodeInputs } from './decode.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name('tern')
    .description('A BGP speaker and route reflector for Calico-style networks')
    .version(version());
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

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`tern: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tern: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 70;
  },
);

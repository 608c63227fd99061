// `tern calico render --calico <path> --node <name>`: the native config that Calico resources give a node,
// printed as YAML for review (warnings and errors on stderr; exit 1 on any error). And the Calico feed of
// `tern run --calico <path> --node <name>`: the same rendering at start and whenever the resources change.

import type { RenderedConfig } from '../config/calico/index.js';
import {
  CalicoError,
  type CalicoIssue,
  FileCalicoSource,
  formatCalicoIssue,
  renderCalico,
} from '../config/calico/index.js';
import type { ConfigFeed } from './feed.js';

export interface CalicoOptions {
  /** A file or a directory of Calico resources. */
  readonly calico: string;
  /** This node's name (calico-node's NODENAME); default the NODENAME environment variable. */
  readonly node?: string;
  /** CALICO_ROUTER_ID: an IPv4 address or `hash`; default the CALICO_ROUTER_ID environment variable. */
  readonly routerId?: string;
  readonly controlSocket?: string;
  readonly birdSocket?: string;
  readonly bird6Socket?: string;
  /** false: do not write routes to the kernel (`--no-kernel-write`). */
  readonly kernelWrite?: boolean;
  /** Seconds between stat checks of the resources (the safety net behind fs.watch); 0: none. */
  readonly pollSeconds?: number;
}

/** The node name, or the message that says how to give it. */
function nodeName(opts: CalicoOptions): string | undefined {
  const n = opts.node ?? process.env.NODENAME;
  return n === undefined || n === '' ? undefined : n;
}

const NO_NODE = '--node <name> is required (or set NODENAME, as for calico-node)';

function render(source: FileCalicoSource, opts: CalicoOptions, node: string): RenderedConfig {
  const routerId = opts.routerId ?? process.env.CALICO_ROUTER_ID;
  const control = {
    ...(opts.controlSocket !== undefined ? { socket: opts.controlSocket } : {}),
    ...(opts.birdSocket !== undefined ? { birdSocket: opts.birdSocket } : {}),
    ...(opts.bird6Socket !== undefined ? { bird6Socket: opts.bird6Socket } : {}),
  };
  return renderCalico(source.loadSync(), {
    node,
    source: source.description,
    ...(routerId !== undefined && routerId !== '' ? { routerId } : {}),
    ...(Object.keys(control).length > 0 ? { control } : {}),
    ...(opts.kernelWrite === false ? { kernelWrite: false } : {}),
  });
}

/** `tern calico render`: exit 0 with the YAML on `out`, or 1 with every problem on `err`. */
export function runCalicoRender(
  opts: CalicoOptions,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  const node = nodeName(opts);
  if (node === undefined) {
    err(`tern calico render: ${NO_NODE}`);
    return 1;
  }
  let rendered: RenderedConfig;
  try {
    rendered = render(new FileCalicoSource(opts.calico), opts, node);
  } catch (e) {
    if (!(e instanceof CalicoError)) throw e;
    for (const i of e.issues) err(formatCalicoIssue(i));
    return 1;
  }
  for (const w of rendered.warnings) err(`warning: ${formatCalicoIssue(w)}`);
  out(rendered.text.trimEnd());
  return 0;
}

/**
 * The config of `tern run --calico`: rendered from the resources at start and on every reload; a change
 * of the resources calls `onChange` only when the rendered config differs. Warnings go to `warn` when
 * they change.
 */
export function calicoFeed(opts: CalicoOptions, warn: (s: string) => void): ConfigFeed {
  const node = nodeName(opts);
  const source = new FileCalicoSource(opts.calico, { pollSeconds: opts.pollSeconds ?? 2 });
  let lastText: string | undefined;
  let lastWarnings = '';
  const load = (): RenderedConfig => {
    if (node === undefined) throw new Error(NO_NODE);
    const r = render(source, opts, node);
    const warnings = r.warnings.map((w: CalicoIssue) => `warning: ${formatCalicoIssue(w)}`).join('\n');
    if (warnings !== lastWarnings && warnings !== '') warn(warnings);
    lastWarnings = warnings;
    return r;
  };
  return {
    file: opts.calico,
    load: async () => {
      const r = load();
      lastText = r.text;
      return r.config;
    },
    check: () => {
      try {
        load();
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    watch: (onChange) =>
      source.watch(() => {
        let text: string | undefined;
        try {
          text = load().text;
        } catch {
          text = undefined; // broken now: the reload says why and keeps the running config
        }
        if (text === undefined || text !== lastText) onChange('Calico resources changed');
      }),
  };
}

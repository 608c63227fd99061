// Calico resources -> tern's native config. The translation (translate.ts) gives a native document; it is
// printed as YAML and that text goes through the native loader (checkConfigText), so a config made from
// Calico resources is checked by exactly the validator that checks `tern run -c` files, and what
// `tern calico render` prints is exactly what runs. docs/calico.md describes the rules.

import { Document } from 'yaml';
import { ConfigError, checkConfigText } from '../load.js';
import type { ConfigDocument, TernConfig } from '../types.js';
import { CalicoError, type CalicoIssue } from './issues.js';
import type { CalicoResources } from './resources.js';
import { type NativeDocument, type Provenance, type TranslateOptions, translateCalico } from './translate.js';

export { EtcdCalicoSource, type EtcdSourceOptions, type EtcdTls } from './etcd.js';
export { DEFAULT_ETCD_PREFIX } from './etcd-model.js';
export { CalicoError, type CalicoIssue, formatCalicoIssue, type Origin } from './issues.js';
export type { CalicoResources } from './resources.js';
export { collectResources, EMPTY_RESOURCES, readCalicoText } from './resources.js';
export { matches, parseSelector, type Selector, SelectorError } from './selector.js';
export {
  type CalicoSource,
  type DatastoreStatus,
  FileCalicoSource,
  type FileSourceOptions,
} from './source.js';
export { hashRouterId, type NativeDocument, type TranslateOptions, translateCalico } from './translate.js';

export interface RenderedConfig {
  /** The native config as YAML, with a comment naming where it came from. */
  readonly text: string;
  readonly document: NativeDocument;
  /** The resolved config, as `tern run -c` would have it from `text`. */
  readonly config: TernConfig;
  /** Resources skipped, fields whose effect tern reaches another way or only in part, native warnings. */
  readonly warnings: readonly CalicoIssue[];
}

export interface RenderOptions extends TranslateOptions {
  /** Where the resources came from, for the comment at the top and for messages. */
  readonly source?: string;
}

/** Translates and validates; throws CalicoError with every problem. */
export function renderCalico(resources: CalicoResources, opts: RenderOptions): RenderedConfig {
  const t = translateCalico(resources, opts);
  if (!t.document) throw new CalicoError(t.errors);
  const text = `# tern native config for node ${opts.node}, from the Calico resources in ${opts.source ?? '(memory)'}\n# (tern calico render: see docs/calico.md)\n${toYaml(t.document)}`;
  const file = `calico:${opts.node}`;
  let checked: ReturnType<typeof checkConfigText>;
  try {
    checked = checkConfigText(text, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new CalicoError(e.errors.map((i) => traced(i.path, i.message, t.provenance)));
  }
  const nativeWarnings = checked.warnings.map((w) => traced(w.path, w.message, t.provenance));
  return {
    text,
    document: t.document,
    config: checked.config,
    warnings: [...resources.warnings, ...t.warnings, ...nativeWarnings],
  };
}

/** A problem of the native document, told against the resource that produced that part of it. */
function traced(path: string, message: string, provenance: ReadonlyMap<string, Provenance>): CalicoIssue {
  let key = path;
  let from = provenance.get(key);
  while (!from && key !== '') {
    const cut = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
    key = cut > 0 ? key.slice(0, cut) : '';
    from = provenance.get(key);
  }
  return {
    ...(from?.origin ? { origin: from.origin } : {}),
    ...(from?.resource ? { resource: from.resource } : {}),
    path: from?.path ?? '',
    message: `translated to ${path === '' ? 'the native config' : path}: ${message}`,
  };
}

/** Block YAML, with each peer, originated prefix, export rule and pool on one line (as the examples in docs/config.md). */
function toYaml(doc: NativeDocument): string {
  // the translator's document is one the native schema declares (checked by the compiler)
  const d = new Document(doc satisfies ConfigDocument, { version: '1.2' });
  for (const key of ['peers', 'originate', 'exportFilter', 'pools']) {
    const seq = d.get(key, true) as { items?: { flow?: boolean }[] } | undefined;
    for (const item of seq?.items ?? []) item.flow = true;
  }
  for (const key of [
    'listen',
    'errorWaitTime',
    'gracefulRestart',
    'nextHop',
    'reflector',
    'kernel',
    'log',
    'metrics',
  ]) {
    const node = d.get(key, true) as { flow?: boolean } | undefined;
    if (node && typeof node === 'object') node.flow = true;
  }
  return d.toString({ lineWidth: 0 });
}

// Sums a V8 .cpuprofile (node --cpu-prof) by function: self time (the samples whose top frame is the
// function) and total time (samples with the function anywhere on the stack, counted once per sample),
// keyed by functionName + url:line. Line numbers are those of the code V8 ran (tsx's transform of a .ts
// file is not line-for-line; run the daemon from .bench-build for exact lines).
//
//   npx tsx bench/loadgen/cpuprofile.ts <file.cpuprofile> [top]

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
}

export interface FunctionTime {
  /** `name file:line` (line 1-based). */
  readonly key: string;
  readonly selfMs: number;
  readonly totalMs: number;
  readonly selfPct: number;
}

export interface ProfileSummary {
  readonly durationMs: number;
  readonly samples: number;
  readonly bySelf: readonly FunctionTime[];
  readonly byTotal: readonly FunctionTime[];
  /** Self time summed by file. */
  readonly byFile: readonly { readonly file: string; readonly selfMs: number; readonly selfPct: number }[];
}

function shortUrl(url: string, root: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

export function summarizeProfile(p: CpuProfile, top = 15, root = `${process.cwd()}/`): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = new Map<number, string>();
  const fileOf = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const file = shortUrl(f.url, root);
    fileOf.set(n.id, file === '' ? f.functionName : file);
    keyOf.set(n.id, `${f.functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${f.lineNumber + 1}`}`);
  }
  // hits per node: from the sample list when present (exact), else hitCount
  const hits = new Map<number, number>();
  if (p.samples !== undefined && p.samples.length > 0) {
    for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of p.nodes) if ((n.hitCount ?? 0) > 0) hits.set(n.id, n.hitCount!);
  }
  let samples = 0;
  for (const h of hits.values()) samples += h;
  const durationMs = (p.endTime - p.startTime) / 1000;
  const msPerSample = samples === 0 ? 0 : durationMs / samples;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, h] of hits) {
    const key = keyOf.get(id)!;
    self.set(key, (self.get(key) ?? 0) + h);
    const f = fileOf.get(id)!;
    file.set(f, (file.get(f) ?? 0) + h);
    // every function on this node's stack, once
    const onStack = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      onStack.add(keyOf.get(cur)!);
    for (const k of onStack) total.set(k, (total.get(k) ?? 0) + h);
  }
  const row = (key: string): FunctionTime => ({
    key,
    selfMs: Math.round((self.get(key) ?? 0) * msPerSample),
    totalMs: Math.round((total.get(key) ?? 0) * msPerSample),
    selfPct: samples === 0 ? 0 : Math.round(((self.get(key) ?? 0) / samples) * 1000) / 10,
  });
  const sortedBy = (m: Map<string, number>): string[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  return {
    durationMs: Math.round(durationMs),
    samples,
    bySelf: sortedBy(self).slice(0, top).map(row),
    byTotal: sortedBy(total)
      .filter((k) => k !== '(root)')
      .slice(0, top)
      .map(row),
    byFile: sortedBy(file)
      .slice(0, top)
      .map((f) => ({
        file: f,
        selfMs: Math.round(file.get(f)! * msPerSample),
        selfPct: Math.round((file.get(f)! / samples) * 1000) / 10,
      })),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`${s.samples} samples over ${s.durationMs} ms`, '', 'self ms  self %  total ms  function'];
  for (const r of s.bySelf)
    lines.push(
      `${String(r.selfMs).padStart(7)}  ${r.selfPct.toFixed(1).padStart(6)}  ${String(r.totalMs).padStart(8)}  ${r.key}`,
    );
  lines.push('', 'total ms  self ms  function (inclusive)');
  for (const r of s.byTotal)
    lines.push(`${String(r.totalMs).padStart(8)}  ${String(r.selfMs).padStart(7)}  ${r.key}`);
  lines.push('', 'self ms  self %  file');
  for (const f of s.byFile)
    lines.push(`${String(f.selfMs).padStart(7)}  ${f.selfPct.toFixed(1).padStart(6)}  ${f.file}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: cpuprofile <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatSummary(summarizeProfile(profile, Number(top ?? 15)))}\n`);
}

// `tern show protocols|neighbors|routes|status [--json]`: asks the running daemon over its control
// socket and prints a table (or the JSON as received).

import { ControlClientError, controlCall } from '../control/client.js';

export const DEFAULT_SOCKET = '/var/run/tern/tern.ctl';

/** Sends one request; resolves with the daemon's result or rejects with its error. */
export async function controlRequest(
  socketPath: string,
  command: string,
  args: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<unknown> {
  try {
    return await controlCall(socketPath, command, args, timeoutMs);
  } catch (e) {
    if (e instanceof ControlClientError && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) {
      throw new Error(`${e.message} (is tern running? is ${socketPath} its control.socket? use -s <path>)`);
    }
    throw e;
  }
}

type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(cell).join(' ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A plain text table with a heading; columns as [heading, key]. */
export function table(rows: readonly Row[], columns: readonly (readonly [string, string])[]): string {
  const text = rows.map((r) => columns.map(([, k]) => cell(r[k])));
  const widths = columns.map(([h], i) => Math.max(h.length, ...text.map((t) => t[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map(([h]) => h)), ...text.map(line)].join('\n');
}

function durationText(seconds: unknown): string {
  if (typeof seconds !== 'number') return '';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

/** An AS path as BIRD prints it: sequences plain, {sets}, (confederation segments). */
function asPathText(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v
    .map((seg: { type?: string; asns?: number[] }) => {
      const asns = (seg.asns ?? []).join(' ');
      if (seg.type === 'set') return `{${asns}}`;
      if (seg.type === 'confed-sequence') return `(${asns})`;
      if (seg.type === 'confed-set') return `({${asns}})`;
      return asns;
    })
    .join(' ');
}

/** `delay p50 0.1 ms, p99 0.4 ms, max 12.3 ms` */
function eventLoopText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return cell(v);
  const d = v as Row;
  return `delay p50 ${cell(d.p50Ms)} ms, p99 ${cell(d.p99Ms)} ms, max ${cell(d.maxMs)} ms`;
}

/** `etcdv3 http://127.0.0.1:2379 (/calico): watching at revision 42, connected since ...; last error: ...` */
function datastoreText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return cell(v);
  const d = v as Row;
  const where = `${cell(d.datastore)} ${cell(d.endpoints).replace(/ /g, ',')} (${cell(d.prefix)})`;
  const at = d.revision === null ? 'no state read yet' : `revision ${cell(d.revision)}`;
  const link = d.connected === true ? 'connected' : 'NOT connected';
  const error = d.lastError === null ? '' : `; last error: ${cell(d.lastError)}`;
  return `${where}: ${cell(d.state)}, ${at}, ${link} since ${cell(d.since)}, ${cell(d.reads)} reads${error}`;
}

/** Human-readable output of each `show` command. */
export function formatShow(what: string, result: unknown): string {
  switch (what) {
    case 'protocols': {
      const rows = (result as Row[]).map((r) => ({ ...r, for: durationText(r.sinceSeconds) }));
      return table(rows, [
        ['Name', 'name'],
        ['Address', 'address'],
        ['AS', 'asn'],
        ['Type', 'type'],
        ['State', 'state'],
        ['Since', 'for'],
        ['Rcvd', 'prefixesReceived'],
        ['Sent', 'prefixesAdvertised'],
        ['Info', 'info'],
      ]);
    }
    case 'neighbors':
      return (result as Row[])
        .map((r) =>
          Object.entries(r)
            .map(([k, v]) => `  ${k}: ${cell(v)}`)
            .join('\n')
            .replace(/^ {2}/, ''),
        )
        .join('\n\n');
    case 'routes':
      return table(
        (result as Row[]).map((r) => ({ ...r, asPath: asPathText(r.asPath) })),
        [
          ['Prefix', 'prefix'],
          ['Peer', 'peer'],
          ['Next hop', 'nextHop'],
          ['AS path', 'asPath'],
          ['Origin', 'origin'],
          ['LocPref', 'localPref'],
          ['MED', 'med'],
          ['Communities', 'communities'],
        ],
      );
    case 'export':
      return table(
        (result as Row[]).map((r) => ({ ...r, asPath: asPathText(r.asPath) })),
        [
          ['Prefix', 'prefix'],
          ['To', 'peer'],
          ['Next hop', 'nextHop'],
          ['AS path', 'asPath'],
          ['Origin', 'origin'],
          ['LocPref', 'localPref'],
          ['MED', 'med'],
          ['Communities', 'communities'],
        ],
      );
    case 'rib':
      return table(
        (result as Row[]).map((r) => ({
          ...r,
          mark: r.best ? '*' : '',
          why: r.best ? (r.reason ?? '') : '',
          asPath: asPathText(r.asPath),
        })),
        [
          ['', 'mark'],
          ['Prefix', 'prefix'],
          ['From', 'from'],
          ['Next hop', 'nextHop'],
          ['AS path', 'asPath'],
          ['LocPref', 'localPref'],
          ['MED', 'med'],
          ['Origin', 'origin'],
          ['Best because', 'why'],
        ],
      );
    case 'status':
      return Object.entries(result as Row)
        .map(
          ([k, v]) =>
            `${k}: ${k === 'eventLoop' ? eventLoopText(v) : k === 'datastore' ? datastoreText(v) : cell(v)}`,
        )
        .join('\n');
    default:
      return Object.entries(result as Row)
        .map(([k, v]) => `${k}: ${cell(v)}`)
        .join('\n');
  }
}

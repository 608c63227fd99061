// `tern run --log-format pretty`: pino's JSON records as one readable line each, for a terminal:
//
//   2025-06-01 14:03:07.412 INFO  [Mesh_10_0_0_2] session state from=OpenConfirm to=Established direction=out
//
// local time to the millisecond, the level, the component or peer the record is about, the message,
// then the other fields as key=value (strings quoted when they hold spaces, quotes or `=`; lists as
// a,b,c; objects as compact JSON). Pure: a JSON line in, a text line out.

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** ANSI colours of the level names (with `color`). */
const COLORS: Readonly<Record<number, string>> = {
  10: '\x1b[90m',
  20: '\x1b[36m',
  30: '\x1b[32m',
  40: '\x1b[33m',
  50: '\x1b[31m',
  60: '\x1b[35m',
};

/** Fields the line shows in its own places, or not at all (pino's `name`, `pid`, `hostname`). */
const PLACED = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname', 'component', 'peer']);

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `2025-06-01 14:03:07.412`, local time. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${date} ${time}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A string bare when it can be read back unambiguously, else JSON-quoted. */
function text(s: string): string {
  const bare = s !== '' && !/[\s"'=\\]/.test(s) && [...s].every((c) => c.charCodeAt(0) >= 0x20);
  return bare ? s : JSON.stringify(s);
}

/** A field value: scalars as they are, lists of scalars as a,b,c, an error by its message, else JSON. */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return text(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return String(v);
  if (
    Array.isArray(v) &&
    v.every((x) => typeof x === 'number' || (typeof x === 'string' && !x.includes(',')))
  )
    return v.length === 0 ? '[]' : text(v.join(','));
  if (typeof v === 'object') {
    const { message, stack } = v as { message?: unknown; stack?: unknown };
    if (typeof message === 'string' && typeof stack === 'string') return text(message); // an Error, as pino writes it
  }
  return JSON.stringify(v);
}

/** One record as a line (with its newline); a line that is not a JSON object is passed on unchanged. */
export function prettyLine(json: string, opts: { readonly color?: boolean } = {}): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return json;
    rec = parsed as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const name = (LEVELS[level] ?? `L${level}`).padEnd(5);
  const parts = [
    typeof rec.time === 'number' ? localTime(rec.time) : String(rec.time ?? ''),
    opts.color ? `${COLORS[level] ?? ''}${name}\x1b[0m` : name,
  ];
  const about = [rec.component, rec.peer].filter((x) => typeof x === 'string' && x !== '');
  if (about.length > 0) parts.push(`[${about.join('/')}]`);
  if (typeof rec.msg === 'string' && rec.msg !== '') parts.push(rec.msg.replace(/\s*\n\s*/g, ' '));
  for (const [k, v] of Object.entries(rec)) {
    if (PLACED.has(k) && !(k === 'peer' && typeof v !== 'string')) continue;
    if (v === undefined) continue;
    parts.push(`${k}=${valueText(v)}`);
  }
  return `${parts.join(' ')}\n`;
}

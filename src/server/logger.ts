/**
 * The server's structured log: pino, one JSON object per line on stdout (or wherever
 * `write` sends it), or a short human-readable line when `pretty` (stdout is a TTY).
 *
 * The layers below the server (Ledger, GroupSet/transport, LedgerHost, the startup check,
 * the client port) report free-text lines through `log(line)` callbacks. logLine() turns
 * such a line into one record: `node` from a leading `[id]`, `group` / `worker` from
 * "group N" / "worker N", every `key=value` token as a field (numbers as numbers), the
 * remote address (`remote`) of a refusal, and an `event` with a level chosen by what the
 * line reports (leader / role change, refusal, truncation, repair, retention, failure).
 * `msg` is the line without the `[id]` prefix and without the key=value tokens.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable lines instead of JSON (default: whether stdout is a TTY). */
  pretty?: boolean;
  /** Where each finished line goes (default process.stdout.write). */
  write?: (line: string) => void;
  /** Fields on every record (e.g. { node: 'n0' }). */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const stream = { write: pretty ? (json: string) => write(formatPretty(json)) : write };
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

const OMIT_IN_PRETTY = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

/** One pino JSON line as `time level msg key=value ...` (newline-terminated). */
export function formatPretty(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const fields: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (OMIT_IN_PRETTY.has(key)) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    fields.push(`${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  const level = String(record.level ?? '').toUpperCase().padEnd(5);
  return `${String(record.time ?? '')} ${level} ${String(record.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

export interface LineRecord {
  level: LogLevel;
  msg: string;
  fields: Record<string, string | number>;
}

const KV = /(?:^|\s)([a-zA-Z][\w.]*)=([^\s,;]+)/g;
const EVENTS: Array<{ test: RegExp; event: string; level: LogLevel }> = [
  { test: /\bleader changed\b/, event: 'leader', level: 'info' },
  { test: /\brole changed\b.*\brole=candidate\b/, event: 'election', level: 'info' },
  { test: /\brole changed\b/, event: 'role', level: 'info' },
  { test: /\brepair\b/i, event: 'repair', level: 'warn' },
  { test: /\btruncat/i, event: 'truncation', level: 'warn' },
  { test: /\bretention\b|\bdeleted segment/i, event: 'retention', level: 'info' },
  { test: /\brefus|\bclosing inbound connection\b|\bprotocol error\b/i, event: 'refusal', level: 'warn' },
  { test: /\b(stopped|died|ERR_[A-Z_]+)\b/, event: 'failure', level: 'error' },
  { test: /\bclosing: /, event: 'connection-closed', level: 'warn' },
];

/** Parse one free-text log line of the layers below into a record (see the file comment). */
export function parseLogLine(line: string): LineRecord {
  const fields: Record<string, string | number> = {};
  let text = line.trim();
  const prefix = /^\[([^\]\s]+)\]\s*/.exec(text);
  if (prefix !== null) {
    fields.node = prefix[1]!;
    text = text.slice(prefix[0].length);
  }
  const group = /\bgroup[ =](\d+)/.exec(text);
  if (group !== null) fields.group = Number(group[1]);
  const worker = /\bworker[ =](\d+)/.exec(text);
  if (worker !== null) fields.worker = Number(worker[1]);
  for (const m of text.matchAll(KV)) {
    const value = m[2]!;
    fields[m[1]!] = /^\d{1,15}$/.test(value) ? Number(value) : value;
  }
  let level: LogLevel = 'info';
  for (const e of EVENTS) {
    if (e.test.test(text)) {
      fields.event = e.event;
      level = e.level;
      break;
    }
  }
  if (fields.event === 'refusal' || fields.event === 'connection-closed') {
    const remote = /(\d{1,3}(?:\.\d{1,3}){3}:\d+|\[[0-9a-fA-F:]+\]:\d+)/.exec(text);
    if (remote !== null && fields.remote === undefined) fields.remote = remote[1]!;
  }
  const msg = text.replace(KV, '').trim();
  return { level, msg: msg === '' ? text : msg, fields };
}

/** Log one free-text line of the layers below as a structured record. */
export function logLine(logger: Logger, line: string): void {
  const r = parseLogLine(line);
  if (!logger.isLevelEnabled(r.level)) return;
  logger[r.level](r.fields, r.msg);
}

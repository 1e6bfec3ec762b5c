/**
 * Small helpers shared by the CLI commands: strict option parsing with typed numbers,
 * usage errors that print a hint instead of a stack, and --help on every command.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A command that cannot run on what it was given (a directory it cannot use, a port that is
 * taken): printed as one line, exit code 2, without the usage hint.
 */
export class CommandError extends Error {
  override name = 'CommandError';
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** A value that starts with '-' but is a number (`--duration -1`), not the next option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--name -1` as `--name=-1`, so a negative value reaches the option's own range check
 * (node's parseArgs otherwise calls it an ambiguous argument). Only for string options.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    let name: string | undefined;
    if (arg.startsWith('--') && !arg.includes('=')) name = arg.slice(2);
    else if (/^-[^-]$/.test(arg)) name = Object.entries(options).find(([, o]) => o.short === arg.slice(1))?.[0];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Strict parsing: unknown options, a missing value and an option given twice (unless it is
 * declared `multiple`) are usage errors.
 */
export function parse(argv: string[], options: Options, allowPositionals = true): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, all), options: all, allowPositionals, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const seen = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || all[token.name]?.multiple === true) continue;
    const first = seen.get(token.name);
    if (first !== undefined) throw new UsageError(`--${token.name} is given twice${first === token.rawName ? '' : ` (as ${first} and ${token.rawName})`}; give it once`);
    seen.set(token.name, token.rawName);
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const match = /^(\d+)(k|m|g|kib|mib|gib)?$/i.exec(text);
  if (match === null) throw new UsageError(`--${name} must be a non-negative integer (optionally with k/m/g), got '${text}'`);
  const unit = (match[2] ?? '').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const value = Number(match[1]) * scale;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be in [${min}, ${max}], got ${text}`);
  return value;
}

export function numberOption(values: Record<string, unknown>, name: string, fallback: number, min = 0, max = Number.MAX_VALUE): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${String(raw)}'`);
  return value;
}

export function choiceOption<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!choices.includes(raw as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

export function wantsHelp(command: Command, argv: string[]): boolean {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${command.usage.trim()}\n`);
    return true;
  }
  return false;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

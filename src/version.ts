/**
 * The package version, read from package.json (the one place it is written). Resolved
 * relative to this module, so it holds from src/ (tests) and from dist/ (the installed
 * package): both sit one level below the package root.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  const url = new URL('../package.json', import.meta.url);
  const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
  const version = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  if (typeof version !== 'string' || version === '') throw new Error(`${url.pathname} has no version`);
  return version;
}

export const VERSION: string = readVersion();

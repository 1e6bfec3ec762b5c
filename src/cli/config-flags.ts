/**
 * The `raftledger server` flags that set config keys, derived from CONFIG_SCHEMA: one flag
 * per key, parsed with the CLI's typed option readers (so sizes take k/m/g and ranges are
 * the schema's), merged over a --config file's keys.
 */
import { CONFIG_SCHEMA } from '../server/config.js';
import { parsePeers } from '../replica/peers.js';
import { intOption } from './args.js';

/** parseArgs options for every schema flag. */
export function configFlagOptions(): Record<string, { type: 'string' }> {
  const options: Record<string, { type: 'string' }> = {};
  for (const entry of CONFIG_SCHEMA) options[entry.flag] = { type: 'string' };
  return options;
}

/** `raw` (a config file's keys, or {}) with every given flag's value set on its key. */
export function applyConfigFlags(raw: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  for (const entry of CONFIG_SCHEMA) {
    const value = values[entry.flag];
    if (value === undefined) continue;
    if (entry.type === 'integer') out[entry.key] = intOption(values, entry.flag, 0, entry.min, entry.max);
    else if (entry.type === 'peers') out[entry.key] = parsePeers(String(value));
    else out[entry.key] = String(value);
  }
  return out;
}

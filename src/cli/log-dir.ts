/**
 * The read-only tools (inspect, verify, dump) take one log directory. A server's data
 * directory holds one log per group in group-<g>/ and is not itself a log: pointed at it,
 * they say so and name DIR/group-0 instead of "not a raftledger log".
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError } from './args.js';

const GROUP_DIR = /^group-(\d+)$/;

export function checkLogDir(dir: string, command: string): string {
  if (existsSync(join(dir, 'raftledger.json'))) return dir;
  let groups: string[] = [];
  try {
    groups = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && GROUP_DIR.test(e.name))
      .map((e) => e.name)
      .sort((a, b) => Number(GROUP_DIR.exec(a)![1]) - Number(GROUP_DIR.exec(b)![1]));
  } catch {
    return dir; // missing or not a directory: the log's own open says so
  }
  if (groups.length === 0) return dir;
  const shown = groups.length > 4 ? `${groups.slice(0, 4).join(', ')}, ...` : groups.join(', ');
  throw new CommandError(
    `${dir} is a server data directory (${groups.length} group log(s): ${shown}), not a log; point at one group: raftledger ${command} ${join(dir, groups[0]!)}`,
  );
}

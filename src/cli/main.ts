#!/usr/bin/env -S node --max-semi-space-size=8 --initial-old-space-size=128
/**
 * The raftledger command. Exit codes: 0 success, 1 the command's own failure verdict
 * (verify found damage, a check failed), 2 usage error or unusable input (a port in use,
 * a directory that cannot be used: one line naming it), 70 an internal error (a bug: stack).
 */
import { isRaftLedgerError } from '../errors.js';
import { CommandError, UsageError, type Command } from './args.js';
import { describeSystemError } from './system-errors.js';
import { exitWithParent } from './parent-watch.js';
import { ServerStartError } from '../tools/cluster/local-cluster.js';
import { inspectCommand } from './inspect.js';
import { verifyCommand } from './verify.js';
import { dumpCommand } from './dump.js';
import { writeCommand } from './write.js';
import { serverCommand } from './server.js';
import { clusterCommand } from './cluster.js';
import { demoCommand } from './demo.js';
import { benchCommand } from './bench.js';
import { statusCommand } from './status.js';
import { membersCommand } from './members.js';
import { tortureCommand } from './torture.js';
import { simulateCommand } from './simulate.js';
import { VERSION } from '../version.js';

const commands: Command[] = [demoCommand, serverCommand, clusterCommand, statusCommand, membersCommand, benchCommand, tortureCommand, inspectCommand, verifyCommand, dumpCommand, writeCommand, simulateCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: raftledger <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'raftledger <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`raftledger ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`raftledger: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`raftledger ${name}: ${error.message}\nRun 'raftledger ${name} --help' for usage.\n`);
      return 2;
    }
    if (error instanceof CommandError || error instanceof ServerStartError) {
      process.stderr.write(`raftledger ${name}: ${error.message}\n`);
      return 2;
    }
    const system = describeSystemError(error);
    if (system !== undefined) {
      process.stderr.write(`raftledger ${name}: ${system}\n`);
      return 2;
    }
    if (isRaftLedgerError(error)) {
      process.stderr.write(`raftledger ${name}: ${error.code}: ${error.message}\n`);
      return error.code === 'ERR_LOG_CORRUPT' ? 1 : 2;
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      process.stderr.write(`raftledger ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

exitWithParent();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`raftledger: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 70;
  },
);

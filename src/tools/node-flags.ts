/**
 * The V8 heap sizing every process that carries replication load runs with: the servers
 * LocalCluster starts, the `raftledger` command itself (its shebang in src/cli/main.ts spells
 * the same flags; test/cli/heap-flags.test.ts holds the two equal) and the load generators
 * the bench scripts start. Why each flag, with figures: README, "Tuning: the heap flags".
 * Node refuses --initial-old-space-size in NODE_OPTIONS, so these go on the command line.
 */
export const HEAP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--initial-old-space-size=128'];

/**
 * The HEAP_NODE_FLAGS that `execArgv` (a process's node flags) lacks, by flag name: any value
 * counts as given (`--initial-old-space-size=256` is the operator's choice). Underscores and
 * dashes are one spelling, as node reads them.
 */
export function missingHeapFlags(execArgv: readonly string[]): string[] {
  const name = (flag: string): string => flag.split('=')[0]!.replace(/_/g, '-');
  const given = new Set(execArgv.map(name));
  return HEAP_NODE_FLAGS.filter((flag) => !given.has(name(flag)));
}

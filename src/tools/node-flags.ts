/**
 * The V8 heap sizing every process that carries replication load runs with: the servers
 * LocalCluster starts, the `raftledger` command itself (its shebang in src/cli/main.ts spells
 * the same flags; test/cli/heap-flags.test.ts holds the two equal) and the load generators
 * the bench scripts start. Why each flag, with figures: README, "Tuning: the heap flags".
 * Node refuses --initial-old-space-size in NODE_OPTIONS, so these go on the command line.
 */
export const HEAP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--initial-old-space-size=128'];

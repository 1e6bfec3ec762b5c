/**
 * What a command that starts servers must undo however it ends: on its normal end, on
 * SIGINT/SIGTERM and on its own crash (an uncaught exception), every LocalCluster of the
 * process is stopped (src/tools/cluster/local-cluster.ts: SIGTERM, then SIGKILL after a
 * grace period) and the directories it created are removed (unless kept). A second signal
 * while stopping SIGKILLs the servers at once.
 *
 * If the command itself is SIGKILLed its servers still exit (they watch their IPC channel
 * to it), but nothing can remove its directories then.
 */
import { rmSync } from 'node:fs';
import { LocalCluster } from '../tools/cluster/local-cluster.js';

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface CleanupOptions {
  /**
   * Called on the first SIGINT/SIGTERM instead of stopping and exiting (the `cluster`
   * command: a signal is its normal way to stop). The command must then call close().
   */
  onSignal?: (signal: NodeJS.Signals) => void;
  /** Where to say what is being cleaned up (default stderr). */
  say?: (line: string) => void;
}

export class CommandCleanup {
  readonly #command: string;
  readonly #options: CleanupOptions;
  readonly #dirs: string[] = [];
  readonly #say: (line: string) => void;
  #closing: Promise<void> | undefined;
  #signalled = false;
  readonly #onSignal = (signal: NodeJS.Signals): void => this.#signal(signal);
  readonly #onCrash = (error: unknown): void => this.#crash(error);

  constructor(command: string, options: CleanupOptions = {}) {
    this.#command = command;
    this.#options = options;
    this.#say = options.say ?? ((line) => process.stderr.write(`${line}\n`));
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
    process.on('uncaughtException', this.#onCrash);
  }

  /** Remove `dir` (recursively) when the command ends, after its servers have stopped. */
  removeAtEnd(dir: string): void {
    this.#dirs.push(dir);
  }

  /** Stop every cluster, remove the directories, and give the signals back. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await LocalCluster.stopAll();
      } finally {
        this.#removeDirs();
        process.off('SIGINT', this.#onSignal);
        process.off('SIGTERM', this.#onSignal);
        process.off('uncaughtException', this.#onCrash);
      }
    })();
    return this.#closing;
  }

  #removeDirs(): void {
    for (const dir of this.#dirs.splice(0)) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch (error) {
        this.#say(`raftledger ${this.#command}: could not remove ${dir}: ${(error as Error).message}`);
      }
    }
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#signalled) {
      this.#say(`raftledger ${this.#command}: ${signal} again: killing the servers now`);
      LocalCluster.killAllNow();
      this.#removeDirs();
      process.exit(SIGNAL_EXIT_CODES[signal] ?? 1);
    }
    this.#signalled = true;
    if (this.#options.onSignal !== undefined) {
      this.#options.onSignal(signal);
      return;
    }
    const dirs = this.#dirs.length > 0 ? ` and removing ${this.#dirs.join(', ')}` : '';
    this.#say(`raftledger ${this.#command}: ${signal}: stopping the servers${dirs}`);
    void this.close().finally(() => process.exit(SIGNAL_EXIT_CODES[signal] ?? 1));
  }

  #crash(error: unknown): void {
    this.#say(`raftledger ${this.#command}: internal error: ${(error as Error)?.stack ?? String(error)}`);
    this.#signalled = true;
    void this.close().finally(() => process.exit(70));
  }
}

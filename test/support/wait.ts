/** The bounded poll of the in-process tests: one home for "wait until this holds, or fail saying what". */

export interface PollOptions {
  /** A liveness bound, not a speed claim (default 15 s). */
  limitMs?: number;
  /** Pause between two looks (default 10 ms). */
  stepMs?: number;
  /** Lines to print under the timeout message (for example the last log lines). */
  logs?: () => readonly string[];
}

/** Resolves once `predicate` holds; throws `timed out waiting for: <what>` (and the logs) after limitMs. */
export async function pollUntil(predicate: () => boolean, what: string, options: PollOptions = {}): Promise<void> {
  const { limitMs = 15_000, stepMs = 10, logs } = options;
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      const lines = logs?.() ?? [];
      throw new Error(`timed out waiting for: ${what}${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/**
 * The life of one client operation across its attempts: the total deadline,
 * the caller's AbortSignal and the client's close() all stop it, whatever it
 * is waiting for at the time (a response or a backoff sleep). It owns one
 * timer (the deadline) and at most one more (a sleep); dispose() clears both.
 */

export type StopReason = 'deadline' | 'abort' | 'closed';

/** What a wait rejects with when the operation is stopped; never escapes the client. */
export class Stopped extends Error {
  constructor() {
    super('operation stopped');
    this.name = 'Stopped';
  }
}

export class Operation {
  readonly signal: AbortSignal | undefined;
  #stop: StopReason | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;
  #cancel: ((error: Error) => void) | undefined;

  constructor(deadlineMs: number, signal: AbortSignal | undefined) {
    this.signal = signal;
    this.#timer = setTimeout(() => this.halt('deadline'), deadlineMs);
    if (signal !== undefined) {
      if (signal.aborted) {
        this.halt('abort');
      } else {
        this.#onAbort = () => this.halt('abort');
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
  }

  get stopped(): StopReason | undefined {
    return this.#stop;
  }

  halt(reason: StopReason): void {
    if (this.#stop !== undefined) return;
    this.#stop = reason;
    this.dispose();
    const cancel = this.#cancel;
    this.#cancel = undefined;
    cancel?.(new Stopped());
  }

  /** Wait for `promise`; if the operation stops first, call `cancel` and reject with Stopped. */
  wait<T>(promise: Promise<T>, cancel?: (error: Error) => void): Promise<T> {
    if (this.#stop !== undefined) {
      cancel?.(new Stopped());
      return Promise.reject(new Stopped());
    }
    return new Promise<T>((resolve, reject) => {
      const onCancel = (error: Error): void => {
        cancel?.(error);
        reject(error);
      };
      this.#cancel = onCancel;
      promise.then(
        (value) => {
          if (this.#cancel === onCancel) this.#cancel = undefined;
          resolve(value);
        },
        (error: unknown) => {
          if (this.#cancel === onCancel) this.#cancel = undefined;
          reject(error);
        },
      );
    });
  }

  /** Sleep `ms` (backoff) unless the operation stops first. */
  sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    return this.wait(slept, () => clearTimeout(timer));
  }

  /** Clear the deadline timer and the abort listener (the operation is over). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#onAbort !== undefined) {
      this.signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }
}

/**
 * The life of one client operation across its attempts: the total deadline,
 * the caller's AbortSignal and the client's close() all stop it, whatever it
 * is waiting for at the time (a response or a backoff sleep). The deadline is
 * the client's (one DeadlineQueue for all operations calls halt('deadline'));
 * an operation owns at most one timer (a sleep) and its abort listener, and
 * dispose() removes the listener.
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
  #onAbort: (() => void) | undefined;
  #cancel: ((error: Error) => void) | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.signal = signal;
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

  /**
   * Sleep `ms` (backoff), or less: `woken` settling ends the sleep early (its timer is
   * cleared). Resolves true if woken, false if the full time passed; rejects with Stopped if
   * the operation stops first.
   */
  sleepUnless(ms: number, woken: Promise<void>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      woken.then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        () => {},
      );
    });
    return this.wait(slept, () => clearTimeout(timer));
  }

  /** Remove the abort listener (the operation is over). */
  dispose(): void {
    if (this.#onAbort !== undefined) {
      this.signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }
}

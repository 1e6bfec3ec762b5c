/**
 * An all-or-nothing reload across a LedgerHost's worker threads (LedgerHost.prepareReload).
 *
 * Phase one sends reloadPrepare with the material to every worker: each one's shard checks
 * it (its Raft transport's TLS, its attachment's: the server's worker client port) and
 * holds the swap. If any worker refuses, or one is not ready, every worker that prepared is
 * told to drop it (reloadAbort) and the reload rejects: no thread changed anything. Only
 * then does the owner swap its own parts and call commit(), which sends reloadCommit
 * (a swap that cannot fail on a live worker).
 *
 * A worker that restarts meanwhile opens with the host's material in force
 * (ShardConfig.material); one whose new channel was not the one prepared gets the whole
 * reload again once ready (pushReload), so no worker is left on the old material.
 */
import { RaftLedgerError } from '../errors.js';
import type { ReloadMaterial } from '../transport/tls.js';
import type { WorkerChannel } from './channel.js';
import type { GroupShard } from './shard.js';

export interface ReloadSlot {
  index: number;
  channel: WorkerChannel | undefined;
  state: 'starting' | 'ready' | 'restarting' | 'closed';
}

/** A reload checked everywhere and not yet swapped anywhere. */
export interface StagedReload {
  /** Swap on every thread (idempotent; a worker that went away meanwhile reopens with the new material). */
  commit(): Promise<void>;
  /** Drop it everywhere (idempotent). */
  abort(): Promise<void>;
}

/** Prepare and commit on one worker (a worker that started on material older than the last reload). */
export async function pushReload(channel: WorkerChannel, material: ReloadMaterial): Promise<void> {
  await channel.call({ op: 'reloadPrepare', material });
  await channel.call({ op: 'reloadCommit' });
}

/**
 * Phase one on every worker of `slots`; `onCommit` runs first in commit() (the host records
 * the material for workers that start later).
 */
export async function prepareOnWorkers(hostId: string, slots: readonly ReloadSlot[], material: ReloadMaterial, onCommit: () => void, log: (line: string) => void): Promise<StagedReload> {
  const notReady = slots.find((s) => s.state !== 'ready' || s.channel === undefined);
  if (notReady !== undefined) throw new RaftLedgerError('ERR_UNAVAILABLE', `reload: worker ${notReady.index} of ${hostId} is ${notReady.state}; nothing was reloaded, retry`);
  const channels = slots.map((s) => s.channel!);
  const outcomes = await Promise.allSettled(channels.map((c) => c.call({ op: 'reloadPrepare', material })));
  const abortAll = async (): Promise<void> => {
    await Promise.allSettled(channels.map((c) => c.call({ op: 'reloadAbort' })));
  };
  const failed = outcomes.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) {
    await abortAll();
    const error = (outcomes[failed] as PromiseRejectedResult).reason as Error;
    error.message = `worker ${slots[failed]!.index}: ${error.message}`;
    throw error;
  }
  let settled = false;
  return {
    async commit() {
      if (settled) return;
      settled = true;
      onCommit();
      await Promise.all(
        slots.map(async (slot, i) => {
          try {
            if (slot.channel === channels[i]) await channels[i]!.call({ op: 'reloadCommit' });
            else if (slot.state === 'ready' && slot.channel !== undefined) await pushReload(slot.channel, material);
            // else: restarting; it opens with the committed material
          } catch (error) {
            log(`[${hostId}] worker ${slot.index}: reload commit not delivered (${(error as Error).message}); it reopens with the new material if it restarts`);
          }
        }),
      );
    },
    async abort() {
      if (settled) return;
      settled = true;
      await abortAll();
    },
  };
}

/** A LedgerHost's reloads: serialized, and remembered for the workers that start later. */
export class HostReloads {
  /** The material in force: read at open (HostInternals.material), then each committed reload's (a part absent from a reload stays). */
  material: ReloadMaterial | undefined;
  /** Bumped by every commit; a worker records the one its config was built with. */
  generation = 0;
  /** Settles when the reload in progress (prepared, not yet committed or aborted) settles. */
  #lock: Promise<void> = Promise.resolve();

  /** A worker is ready: if it started on material older than the last commit, push the new one. */
  workerReady(slot: ReloadSlot, startedGeneration: number, log: (line: string) => void, hostId: string): void {
    if (startedGeneration === this.generation || this.material === undefined || slot.channel === undefined) return;
    pushReload(slot.channel, this.material).catch((error: unknown) => log(`[${hostId}] worker ${slot.index}: reload after restart failed: ${(error as Error).message}`));
  }

  /** Phase one on the calling thread's shard (`local`) or on every worker (LedgerHost.prepareReload). */
  async prepare(hostId: string, local: GroupShard | undefined, slots: readonly ReloadSlot[], material: ReloadMaterial, log: (line: string) => void): Promise<StagedReload> {
    const previous = this.#lock;
    let release!: () => void;
    this.#lock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const remember = (): void => {
      this.material = { ...this.material, ...material };
      this.generation++;
    };
    let staged: StagedReload;
    try {
      if (local !== undefined) {
        const swap = local.prepareReload(material);
        staged = { commit: async () => (remember(), swap()), abort: async () => {} };
      } else {
        staged = await prepareOnWorkers(hostId, slots, material, remember, log);
      }
    } catch (error) {
      release();
      throw error;
    }
    return { commit: () => staged.commit().finally(release), abort: () => staged.abort().finally(release) };
  }
}

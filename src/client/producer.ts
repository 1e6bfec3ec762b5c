/**
 * The network client's producer identity (exactly-once appends, README.md): one producer id
 * per client, from the cluster (the producerId op), fetched once on the first append; per
 * group an epoch and the next sequence number. Sequences are assigned when append() is
 * called, so a retry of one call always carries the same numbers and the server answers it
 * with the original { index, pos }.
 *
 * When an idempotent append of a group ends in an error (any: its sequences may now be a
 * hole the server waits for forever), the group moves to the next epoch at sequence 0; the
 * server fences the old epoch, so later calls never wait on the hole.
 */
import type { WireProducer } from '../transport/client-codec.js';

interface GroupSequence {
  epoch: number;
  next: number;
  /**
   * Whether the epoch's first batch (sequence 0) was acknowledged. Until then the server
   * does not know this producer in this epoch, and a later sequence arriving first (its
   * retry overtook the first one's) is refused with ERR_UNKNOWN_PRODUCER, which is not
   * retriable. So later batches take their sequences only once the first batch ends.
   */
  opened: boolean;
  /** Settles when the epoch's first batch ends (acknowledged or failed); undefined before it is stamped. */
  opening: Promise<void> | undefined;
  settleOpening: () => void;
}

export class ClientProducer {
  readonly #fetch: () => Promise<{ producerId: number; epoch: number }>;
  #id: Promise<{ producerId: number; epoch: number }> | undefined;
  readonly #groups = new Map<number, GroupSequence>();

  constructor(fetch: () => Promise<{ producerId: number; epoch: number }>) {
    this.#fetch = fetch;
  }

  /**
   * The stamp of a batch of `count` appends to `group` (sequences reserved now). The first
   * batch of an epoch is stamped at once; later ones wait until it ends (see `opened`).
   */
  async stamp(group: number, count: number): Promise<WireProducer> {
    if (this.#id === undefined) {
      this.#id = this.#fetch();
      this.#id.catch(() => (this.#id = undefined));
    }
    const { producerId, epoch } = await this.#id;
    let g = this.#groups.get(group);
    if (g === undefined) {
      g = { epoch, next: 0, opened: false, opening: undefined, settleOpening: () => {} };
      this.#groups.set(group, g);
    }
    while (!g.opened && g.opening !== undefined) await g.opening;
    if (!g.opened) {
      let settle = (): void => {};
      g.opening = new Promise<void>((resolve) => (settle = resolve));
      g.settleOpening = settle;
    }
    const sequence = g.next;
    g.next += count;
    return { producerId, epoch: g.epoch, sequence };
  }

  /** The append stamped `stamp` was acknowledged. */
  succeeded(group: number, stamp: WireProducer): void {
    const g = this.#groups.get(group);
    if (g === undefined || g.opened || g.epoch !== stamp.epoch || stamp.sequence !== 0) return;
    g.opened = true;
    g.opening = undefined;
    g.settleOpening();
  }

  /** The append stamped `stamp` failed: start the next epoch (only once per epoch). */
  failed(group: number, stamp: WireProducer): void {
    const g = this.#groups.get(group);
    if (g === undefined || g.epoch !== stamp.epoch) return;
    if (g.epoch < 0xffff_ffff) {
      g.epoch++;
      g.next = 0;
    }
    g.opened = false;
    g.opening = undefined;
    g.settleOpening(); // waiters wake; the first of them opens the new epoch
  }
}

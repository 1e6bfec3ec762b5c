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
}

export class ClientProducer {
  readonly #fetch: () => Promise<{ producerId: number; epoch: number }>;
  #id: Promise<{ producerId: number; epoch: number }> | undefined;
  readonly #groups = new Map<number, GroupSequence>();

  constructor(fetch: () => Promise<{ producerId: number; epoch: number }>) {
    this.#fetch = fetch;
  }

  /** The stamp of a batch of `count` appends to `group` (sequences reserved now). */
  async stamp(group: number, count: number): Promise<WireProducer> {
    if (this.#id === undefined) {
      this.#id = this.#fetch();
      this.#id.catch(() => (this.#id = undefined));
    }
    const { producerId, epoch } = await this.#id;
    let g = this.#groups.get(group);
    if (g === undefined) {
      g = { epoch, next: 0 };
      this.#groups.set(group, g);
    }
    const sequence = g.next;
    g.next += count;
    return { producerId, epoch: g.epoch, sequence };
  }

  /** The append stamped `stamp` failed: start the next epoch (only once per epoch). */
  failed(group: number, stamp: WireProducer): void {
    const g = this.#groups.get(group);
    if (g === undefined || g.epoch !== stamp.epoch || g.epoch >= 0xffff_ffff) return;
    g.epoch++;
    g.next = 0;
  }
}

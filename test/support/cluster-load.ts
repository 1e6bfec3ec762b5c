/** Load and progress helpers for the multi-process cluster tests (test/cluster/*) over test/support/process-cluster.ts. */
import { readRecords, replicaDir, viewCluster, waitUntil, type TestCluster } from './process-cluster.js';

export interface AppendManyOptions {
  /** Pad each payload `${tag}-${i}-` with 'x' to this many bytes; without it the payload is `${tag}-${i}`. */
  sizeBytes?: number;
  /** Appends in flight at once (one batch after the other); all `count` at once without it. */
  batch?: number;
}

/** Appends `count` payloads tagged `tag` through the cluster's client; returns acked index -> payload. */
export async function appendMany(tc: TestCluster, count: number, tag: string, options: AppendManyOptions = {}): Promise<Map<number, string>> {
  const { sizeBytes, batch = count } = options;
  const acked = new Map<number, string>();
  for (let from = 0; from < count; from += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - from) }, async (_, j) => {
        const i = from + j;
        const text = sizeBytes === undefined ? `${tag}-${i}` : `${tag}-${i}-`.padEnd(sizeBytes, 'x');
        const ack = await tc.client.append(Buffer.from(text));
        acked.set(ack.index, text);
      }),
    );
  }
  return acked;
}

/** Every replica that answers has committed through `index`. */
export async function allCommitted(tc: TestCluster, index: number): Promise<boolean> {
  const views = await viewCluster(tc.client);
  return views.every((v) => (v.commitIndex ?? 0) >= index);
}

/** Every replica of the 3 answers and has committed through `index`. */
export async function committedEverywhere(tc: TestCluster, index: number): Promise<boolean> {
  const views = await viewCluster(tc.client);
  return views.length === 3 && views.every((v) => (v.commitIndex ?? 0) >= index);
}

/** appendMany, then wait (bounded, waitUntil's default) until every replica that answers has committed the highest acked index `last`. */
export async function appendAndCommit(tc: TestCluster, count: number, tag: string, options: AppendManyOptions, what: string): Promise<{ acked: Map<number, string>; last: number }> {
  const acked = await appendMany(tc, count, tag, options);
  const last = Math.max(...acked.keys());
  await waitUntil(() => allCommitted(tc, last), what);
  return { acked, last };
}

/** The records [1, upTo] of every replica of a stopped cluster, in `tc.cluster.ids` order. */
export function recordsOfAll(tc: TestCluster, upTo: number): Promise<Array<Array<{ pos: number; record: string }>>> {
  return Promise.all(tc.cluster.ids.map((id) => readRecords(replicaDir(tc, id), upTo)));
}

/**
 * Moving payload bytes across the thread boundary without structured-clone copies.
 *
 * Structured clone of a Uint8Array copies its WHOLE backing ArrayBuffer: a 100-byte slice
 * of a socket chunk or of Buffer's 8 KiB allocation pool would drag the whole chunk/pool
 * along, once per payload. So nothing goes by clone:
 *
 *  - a payload that is the only view of its ArrayBuffer (byteOffset 0, full length, not
 *    shared: e.g. `new Uint8Array(n)`, `Buffer.alloc(n)`) is TRANSFERRED as is: no copy,
 *    and the caller's view is detached afterwards (ownership passes to the host). Pass
 *    `{ copy: true }` to append() to keep such buffers usable;
 *  - every other payload (slices, pooled Buffers, client-request frames) is copied once into
 *    one fresh ArrayBuffer per batch, which is transferred; the worker gets views into it.
 */

export interface Packed {
  /** The payload views to send (transferred buffers or views into the batch buffer). */
  views: Uint8Array[][];
  transfer: ArrayBuffer[];
  copiedBytes: number;
}

function transferable(p: Uint8Array): boolean {
  const b = p.buffer;
  return b instanceof ArrayBuffer && p.byteOffset === 0 && p.byteLength === b.byteLength && p.byteLength > 0;
}

/** Pack the payload lists of one batch (one list per append call). */
export function packPayloads(lists: ReadonlyArray<readonly Uint8Array[]>, allowTransfer: readonly boolean[]): Packed {
  const seen = new Set<ArrayBuffer>();
  let copyBytes = 0;
  for (let i = 0; i < lists.length; i++) {
    for (const p of lists[i]!) {
      if (allowTransfer[i] === true && transferable(p) && !seen.has(p.buffer as ArrayBuffer)) seen.add(p.buffer as ArrayBuffer);
      else if (!(allowTransfer[i] === true && transferable(p))) copyBytes += p.byteLength;
    }
  }
  const batch = copyBytes > 0 ? new Uint8Array(copyBytes) : null;
  let offset = 0;
  const views: Uint8Array[][] = lists.map((list, i) =>
    list.map((p) => {
      if (allowTransfer[i] === true && transferable(p)) return p;
      const view = batch === null ? new Uint8Array(0) : batch.subarray(offset, offset + p.byteLength);
      view.set(p);
      offset += p.byteLength;
      return view;
    }),
  );
  const transfer = [...seen];
  if (batch !== null) transfer.push(batch.buffer);
  return { views, transfer, copiedBytes: copyBytes };
}

/** Worker side: copy entries' payloads (views of the log's mapping) into one transferable buffer. */
export function packEntries<T extends { payload: Uint8Array }>(entries: T[], transfer: ArrayBuffer[]): T[] {
  let total = 0;
  for (const e of entries) total += e.payload.byteLength;
  if (total === 0) return entries.map((e) => ({ ...e, payload: new Uint8Array(0) }));
  const buffer = new Uint8Array(total);
  let offset = 0;
  const out = entries.map((e) => {
    const view = buffer.subarray(offset, offset + e.payload.byteLength);
    view.set(e.payload);
    offset += e.payload.byteLength;
    return { ...e, payload: view };
  });
  transfer.push(buffer.buffer);
  return out;
}

/**
 * The fixed-width index: log index -> (pos, term, size, crc) in O(1), stored in
 * preallocated, mmap'd index segments of `slotsPerFile` 24-byte slots (docs/FORMAT.md).
 *
 * The index is derived data. Slots up to the recovery checkpoint are trusted only as
 * hints: every read cross-checks the record it points at, and a disagreement makes the
 * log rebuild the index from the data. In read-only mode nothing is written to disk;
 * slots set during recovery live in an in-memory overlay.
 */
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native, type NativeSegment } from './native.js';
import { SLOT_SIZE_BYTES, SlotOffset, dataViewOf, parseSegmentFileName, readSlot, segmentFileName, type IndexSlot } from './format.js';

export class LogIndex {
  readonly #dir: string;
  readonly #slotsPerFile: number;
  readonly #readOnly: boolean;
  /** file number k -> handle; file k holds indexes [1 + k*slotsPerFile, 1 + (k+1)*slotsPerFile). */
  readonly #files = new Map<number, NativeSegment>();
  readonly #overlay = new Map<number, IndexSlot>();
  readonly #scratch = Buffer.alloc(SLOT_SIZE_BYTES);
  readonly #scratchView = dataViewOf(this.#scratch);
  readonly #pendingClose: Promise<void>[] = [];

  constructor(dir: string, slotsPerFile: number, readOnly: boolean) {
    this.#dir = dir;
    this.#slotsPerFile = slotsPerFile;
    this.#readOnly = readOnly;
    if (!readOnly) mkdirSync(dir, { recursive: true });
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot list ${dir}`, dir);
    }
    for (const name of names) {
      const first = parseSegmentFileName(name);
      if (first === undefined || (first - 1) % slotsPerFile !== 0) {
        if (name.endsWith('.tmp')) continue;
        throw new RaftLedgerError('ERR_FOREIGN_FILE', `${join(dir, name)} is not a raftledger index file`, { path: join(dir, name) });
      }
      const fileNo = (first - 1) / slotsPerFile;
      const path = join(dir, name);
      try {
        this.#files.set(fileNo, native.openSegment(path, slotsPerFile * SLOT_SIZE_BYTES, { readOnly }));
      } catch (error) {
        throw fromSystemError(error, `cannot open index file ${path}`, path);
      }
    }
  }

  get slotsPerFile(): number {
    return this.#slotsPerFile;
  }

  #fileNo(index: number): number {
    return Math.floor((index - 1) / this.#slotsPerFile);
  }

  #file(fileNo: number, create: boolean): NativeSegment | undefined {
    let file = this.#files.get(fileNo);
    if (file === undefined && create) {
      const path = join(this.#dir, segmentFileName(1 + fileNo * this.#slotsPerFile));
      try {
        file = native.createSegment(path, this.#slotsPerFile * SLOT_SIZE_BYTES);
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_EXISTS') {
          file = native.openSegment(path, this.#slotsPerFile * SLOT_SIZE_BYTES);
        } else {
          throw fromSystemError(error, `cannot create index file ${path}`, path);
        }
      }
      this.#files.set(fileNo, file);
    }
    return file;
  }

  /** Path and byte offset of the slot of `index` (for error reports). */
  locate(index: number): { path: string; offset: number } {
    const fileNo = this.#fileNo(index);
    return {
      path: join(this.#dir, segmentFileName(1 + fileNo * this.#slotsPerFile)),
      offset: ((index - 1) % this.#slotsPerFile) * SLOT_SIZE_BYTES,
    };
  }

  /** The slot of `index`, or undefined when it is empty or its file is missing. */
  get(index: number): IndexSlot | undefined {
    const overlaid = this.#overlay.get(index);
    if (overlaid !== undefined) return overlaid;
    const file = this.#file(this.#fileNo(index), false);
    if (file === undefined) return undefined;
    file.readInto(((index - 1) % this.#slotsPerFile) * SLOT_SIZE_BYTES, SLOT_SIZE_BYTES, this.#scratch, 0);
    const slot = readSlot(this.#scratchView, 0);
    return slot.size === 0 ? undefined : slot;
  }

  /**
   * The raw slots of indexes first..first+count-1 (24 bytes each, as stored), when they sit in
   * one index file and none is overlaid; undefined otherwise (the caller then asks get() per
   * index). Empty slots read as zeros.
   */
  readSlots(first: number, count: number): Buffer | undefined {
    if (count < 1 || this.#overlay.size > 0) return undefined;
    const fileNo = this.#fileNo(first);
    if (this.#fileNo(first + count - 1) !== fileNo) return undefined;
    const file = this.#file(fileNo, false);
    if (file === undefined) return undefined;
    return file.read(((first - 1) % this.#slotsPerFile) * SLOT_SIZE_BYTES, count * SLOT_SIZE_BYTES);
  }

  /** Store `count` consecutive slots (24 bytes each, packed in `slots`) for indexes first.. */
  set(first: number, slots: Uint8Array, count: number): void {
    if (this.#readOnly) {
      const view = dataViewOf(slots);
      for (let i = 0; i < count; i++) this.#overlay.set(first + i, readSlot(view, i * SLOT_SIZE_BYTES));
      return;
    }
    let done = 0;
    while (done < count) {
      const index = first + done;
      const within = (index - 1) % this.#slotsPerFile;
      const n = Math.min(count - done, this.#slotsPerFile - within);
      const file = this.#file(this.#fileNo(index), true)!;
      file.write(within * SLOT_SIZE_BYTES, slots.subarray(done * SLOT_SIZE_BYTES, (done + n) * SLOT_SIZE_BYTES));
      done += n;
    }
  }

  /**
   * Empty every slot at or after `index` and delete the files wholly after it. Slots are
   * set contiguously, so only the run of non-empty slots from `index` is zeroed.
   */
  clearFrom(index: number): void {
    for (const key of [...this.#overlay.keys()]) if (key >= index) this.#overlay.delete(key);
    if (this.#readOnly) return;
    const fileNo = this.#fileNo(index);
    for (const [no, file] of [...this.#files]) {
      if (no > fileNo) this.#dropFile(no, file);
    }
    const file = this.#files.get(fileNo);
    if (file === undefined) return;
    const within = (index - 1) % this.#slotsPerFile;
    const chunkSlots = 4096;
    for (let start = within; start < this.#slotsPerFile; start += chunkSlots) {
      const n = Math.min(chunkSlots, this.#slotsPerFile - start);
      const bytes = file.read(start * SLOT_SIZE_BYTES, n * SLOT_SIZE_BYTES);
      let used = 0;
      while (used < n && bytes.readUInt32LE(used * SLOT_SIZE_BYTES + SlotOffset.size) !== 0) used++;
      if (used > 0) file.zero(start * SLOT_SIZE_BYTES, used * SLOT_SIZE_BYTES);
      if (used < n) break;
    }
  }

  /** Delete index files whose every slot is below `index`. */
  dropBefore(index: number): void {
    if (this.#readOnly) return;
    const fileNo = this.#fileNo(index);
    for (const [no, file] of [...this.#files]) if (no < fileNo) this.#dropFile(no, file);
  }

  #dropFile(no: number, file: NativeSegment): void {
    this.#files.delete(no);
    try {
      unlinkSync(file.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot delete ${file.path}`, file.path);
    }
    this.#pendingClose.push(file.close());
  }

  /** Durably store the slots of [from, to] (inclusive). */
  async flush(from: number, to: number): Promise<void> {
    if (this.#readOnly || to < from) return;
    const work: Promise<void>[] = [];
    for (let no = this.#fileNo(from); no <= this.#fileNo(to); no++) {
      const file = this.#files.get(no);
      if (file === undefined) continue;
      const firstOfFile = 1 + no * this.#slotsPerFile;
      const a = Math.max(from, firstOfFile) - firstOfFile;
      const b = Math.min(to, firstOfFile + this.#slotsPerFile - 1) - firstOfFile + 1;
      work.push(file.flush(a * SLOT_SIZE_BYTES, (b - a) * SLOT_SIZE_BYTES));
    }
    await Promise.all(work);
    await native.syncDirectory(this.#dir);
  }

  async close(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all([...files.map((f) => f.close()), ...this.#pendingClose.splice(0)]);
  }
}

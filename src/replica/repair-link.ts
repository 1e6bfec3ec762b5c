/**
 * The repair exchange over the peer transport (issue 16): the asking side (one RepairSource
 * per peer and group, for repairFromPeers) and the serving side (a peer's answer from its
 * log, repair.ts serveRepair), on repair frames (transport/repair-frame.ts) of the group set's
 * one PeerTransport.
 *
 * Contracts:
 *  - A fetch sends one request frame and waits for the response with its request id; it
 *    rejects with ERR_UNAVAILABLE when the peer is not connected and ERR_TIMEOUT after
 *    timeoutMs. A response from another peer than the one asked, or for no pending request,
 *    is ignored.
 *  - A peer answers at most MAX_RESPONSE_BYTES of records (at least one) per response, in the
 *    order asked; the fetch asks again for the wants after the last record it got, so a big
 *    range arrives in several frames and no frame nears the transport's frame cap.
 *  - Malformed repair messages are logged and dropped (the transport already checked the
 *    frame); serving never throws into the transport.
 */
import { RaftLedgerError, isRaftLedgerError } from '../errors.js';
import { decodeRepairRequest, decodeRepairResponse, encodeRepairRequest, encodeRepairResponse, REPAIR_REQUEST_TYPE, REPAIR_RESPONSE_TYPE } from '../transport/repair-codec.js';
import { repairMessageType } from '../transport/repair-frame.js';
import type { RepairRecord, RepairRequest, RepairSource } from './repair.js';

/** The most record bytes one response carries (then the asker asks again for the rest). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_REPAIR_FETCH_TIMEOUT_MS = 5000;

/** What serves a group's repair requests (the Ledger of that group). */
export interface RepairServer {
  serveRepair(request: RepairRequest): RepairRecord[];
}

export interface RepairLinkConfig {
  /** PeerTransport.sendRepair. */
  send(peer: string, group: number, message: Uint8Array): boolean;
  /** Who serves `group` here (undefined: not open: an empty answer). */
  server(group: number): RepairServer | undefined;
  log?: (line: string) => void;
  timeoutMs?: number;
}

interface Pending {
  peer: string;
  resolve(records: RepairRecord[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RepairLink {
  readonly #c: RepairLinkConfig;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** Requests served and record bytes sent (status, tests). */
  served = 0;
  servedBytes = 0;

  constructor(config: RepairLinkConfig) {
    this.#c = config;
  }

  /** A RepairSource that asks `peer` for `group`'s records. */
  source(peer: string, group: number): RepairSource {
    return { id: peer, fetch: (request) => this.#fetchAll(peer, group, request) };
  }

  async #fetchAll(peer: string, group: number, request: RepairRequest): Promise<RepairRecord[]> {
    const out: RepairRecord[] = [];
    let want = request.want.slice();
    while (want.length > 0) {
      const got = await this.#fetchOnce(peer, group, { fromIndex: want[0]!.index, toIndex: want[want.length - 1]!.index, want });
      const last = got[got.length - 1]?.index ?? 0;
      if (last < want[0]!.index) break; // nothing (or nothing new): done with this peer
      out.push(...got);
      want = want.filter((w) => w.index > last);
    }
    return out;
  }

  #fetchOnce(peer: string, group: number, request: RepairRequest): Promise<RepairRecord[]> {
    if (this.#closed) return Promise.reject(new RaftLedgerError('ERR_CLOSED', 'the transport is closed'));
    const requestId = this.#nextId;
    this.#nextId = (this.#nextId % 0xffff_fffe) + 1;
    return new Promise<RepairRecord[]>((resolve, reject) => {
      const frame = encodeRepairRequest({ requestId, fromIndex: request.fromIndex, toIndex: request.toIndex, want: request.want.map((w) => ({ ...w })) });
      if (!this.#c.send(peer, group, frame)) {
        reject(new RaftLedgerError('ERR_UNAVAILABLE', `${peer} is not connected`, { retriable: true }));
        return;
      }
      const timeoutMs = this.#c.timeoutMs ?? DEFAULT_REPAIR_FETCH_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new RaftLedgerError('ERR_TIMEOUT', `${peer} did not answer the repair request within ${timeoutMs} ms`, { retriable: true }));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(requestId, { peer, resolve, reject, timer });
    });
  }

  /** A repair message of `group` from `from` (PeerTransport's onRepair). */
  onMessage(group: number, message: Uint8Array, from: string): void {
    try {
      const type = repairMessageType(message);
      if (type === REPAIR_REQUEST_TYPE) this.#serve(group, message, from);
      else if (type === REPAIR_RESPONSE_TYPE) this.#answer(message, from);
      else this.#c.log?.(`dropped a repair message of unknown type ${type} from ${from}`);
    } catch (error) {
      this.#c.log?.(`dropped a repair message from ${from}: ${(error as Error).message}`);
    }
  }

  #serve(group: number, message: Uint8Array, from: string): void {
    const request = decodeRepairRequest(message);
    let records: RepairRecord[] = [];
    const server = this.#c.server(group);
    if (server !== undefined) {
      try {
        records = server.serveRepair(request);
      } catch (error) {
        if (!(error instanceof RangeError) && !isRaftLedgerError(error)) throw error;
        this.#c.log?.(`repair request from ${from} for group ${group} refused: ${(error as Error).message}`);
      }
    }
    let bytes = 0;
    let n = 0;
    while (n < records.length && (n === 0 || bytes + records[n]!.record.byteLength <= MAX_RESPONSE_BYTES)) bytes += records[n++]!.record.byteLength;
    this.served++;
    this.servedBytes += bytes;
    this.#c.send(from, group, encodeRepairResponse({ requestId: request.requestId, records: records.slice(0, n) }));
  }

  #answer(message: Uint8Array, from: string): void {
    const response = decodeRepairResponse(message);
    const p = this.#pending.get(response.requestId);
    if (p === undefined || p.peer !== from) return;
    this.#pending.delete(response.requestId);
    clearTimeout(p.timer);
    p.resolve(response.records);
  }

  /** Reject every pending fetch with ERR_CLOSED. */
  close(): void {
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RaftLedgerError('ERR_CLOSED', 'the transport closed before the repair answer came'));
    }
    this.#pending.clear();
  }
}

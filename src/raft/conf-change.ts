/**
 * Membership change (docs/RAFT.md, "Membership change"): single-server changes
 * (Raft thesis §4.1) with Ongaro's 2015 fix. A configuration is voters plus
 * learners; it lives in the log as a Config entry (body: docs/FORMAT.md,
 * "Config entry body") and takes effect on a node when the entry is appended
 * to its log, not when it commits. `Membership` tracks the configuration of
 * every Config entry still in the log, so a truncation reverts to the one
 * before.
 *
 * Invariants: consecutive configurations differ by at most one voter (checked
 * by planConfChange, the only producer of Config entries); at most one Config
 * entry is uncommitted on a leader (pendingIndex <= commit before a new one).
 */
import { EntryType, RaftRefusal, type Entry, type NodeId } from './types.js';

export interface Member {
  id: NodeId;
  /** Where to reach the member (opaque to the core; may be ''). */
  address: string;
}

export interface Configuration {
  voters: readonly Member[];
  learners: readonly Member[];
}

export type ConfChangeType = 'addLearner' | 'promote' | 'remove';

export interface ConfChange {
  type: ConfChangeType;
  id: NodeId;
  /** addLearner: the new member's address; ignored otherwise. */
  address?: string;
}

const BODY_VERSION = 1;
const MAX_MEMBERS = 1024;
const MAX_ID_BYTES = 255;
const MAX_ADDRESS_BYTES = 1024;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function isVoter(c: Configuration, id: NodeId): boolean {
  return c.voters.some((m) => m.id === id);
}

export function isLearner(c: Configuration, id: NodeId): boolean {
  return c.learners.some((m) => m.id === id);
}

/** Everyone who receives the log: voters then learners. */
export function memberIds(c: Configuration): NodeId[] {
  return [...c.voters.map((m) => m.id), ...c.learners.map((m) => m.id)];
}

/** Voters that differ between two configurations (added or removed). */
export function voterDelta(a: Configuration, b: Configuration): number {
  let n = 0;
  for (const m of a.voters) if (!isVoter(b, m.id)) n++;
  for (const m of b.voters) if (!isVoter(a, m.id)) n++;
  return n;
}

/** Checks the shape of a configuration; throws RangeError. */
export function validateConfiguration(c: Configuration): void {
  if (c.voters.length === 0) throw new RangeError('raft: a configuration needs at least one voter');
  if (c.voters.length + c.learners.length > MAX_MEMBERS) throw new RangeError(`raft: more than ${MAX_MEMBERS} members`);
  const seen = new Set<string>();
  for (const m of [...c.voters, ...c.learners]) {
    if (typeof m.id !== 'string' || m.id.length === 0) throw new RangeError('raft: member ids must be non-empty strings');
    if (typeof m.address !== 'string') throw new RangeError(`raft: address of ${JSON.stringify(m.id)} must be a string`);
    if (utf8.encode(m.id).byteLength > MAX_ID_BYTES) throw new RangeError(`raft: member id longer than ${MAX_ID_BYTES} bytes`);
    if (utf8.encode(m.address).byteLength > MAX_ADDRESS_BYTES) throw new RangeError(`raft: address longer than ${MAX_ADDRESS_BYTES} bytes`);
    if (seen.has(m.id)) throw new RangeError(`raft: duplicate member ${JSON.stringify(m.id)}`);
    seen.add(m.id);
  }
}

/** The Config entry body (docs/FORMAT.md, "Config entry body"). */
export function encodeConfiguration(c: Configuration): Uint8Array {
  validateConfiguration(c);
  const parts: Uint8Array[] = [];
  let size = 5;
  for (const m of [...c.voters, ...c.learners]) {
    const id = utf8.encode(m.id);
    const addr = utf8.encode(m.address);
    parts.push(id, addr);
    size += 3 + id.byteLength + addr.byteLength;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = BODY_VERSION;
  dv.setUint16(1, c.voters.length, true);
  dv.setUint16(3, c.learners.length, true);
  let o = 5;
  for (let i = 0; i < parts.length; i += 2) {
    const id = parts[i] as Uint8Array;
    const addr = parts[i + 1] as Uint8Array;
    out[o] = id.byteLength;
    out.set(id, o + 1);
    o += 1 + id.byteLength;
    dv.setUint16(o, addr.byteLength, true);
    out.set(addr, o + 2);
    o += 2 + addr.byteLength;
  }
  return out;
}

/** Decodes a Config entry body; throws RangeError on anything malformed (untrusted bytes). */
export function decodeConfiguration(body: Uint8Array): Configuration {
  const bad = (why: string): never => {
    throw new RangeError(`raft: bad Config entry body: ${why}`);
  };
  if (body.byteLength < 5) bad('shorter than 5 bytes');
  if (body[0] !== BODY_VERSION) bad(`version ${String(body[0])}`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const nv = dv.getUint16(1, true);
  const nl = dv.getUint16(3, true);
  const members: Member[] = [];
  let o = 5;
  for (let i = 0; i < nv + nl; i++) {
    if (o + 1 > body.byteLength) bad('truncated');
    const idLen = body[o] as number;
    if (o + 1 + idLen + 2 > body.byteLength) bad('truncated');
    const id = decodeText(body.subarray(o + 1, o + 1 + idLen), bad);
    o += 1 + idLen;
    const addrLen = dv.getUint16(o, true);
    if (o + 2 + addrLen > body.byteLength) bad('truncated');
    const address = decodeText(body.subarray(o + 2, o + 2 + addrLen), bad);
    o += 2 + addrLen;
    members.push({ id, address });
  }
  if (o !== body.byteLength) bad('trailing bytes');
  const c: Configuration = { voters: members.slice(0, nv), learners: members.slice(nv) };
  try {
    validateConfiguration(c);
  } catch (e) {
    bad((e as Error).message);
  }
  return c;
}

function decodeText(b: Uint8Array, bad: (why: string) => never): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    return bad('member id or address is not UTF-8');
  }
}

/** `c` with the change applied; throws RaftRefusal ERR_CONF_CHANGE_INVALID (not retriable) for a change that does not fit `c`. */
export function applyConfChange(c: Configuration, cc: ConfChange): Configuration {
  const invalid = (why: string): never => {
    throw new RaftRefusal('ERR_CONF_CHANGE_INVALID', '', `raft: ${cc.type} ${JSON.stringify(cc.id)}: ${why}`, false);
  };
  const voters = c.voters.slice();
  const learners = c.learners.slice();
  switch (cc.type) {
    case 'addLearner':
      if (isVoter(c, cc.id) || isLearner(c, cc.id)) invalid('already a member');
      learners.push({ id: cc.id, address: cc.address ?? '' });
      break;
    case 'promote': {
      const i = learners.findIndex((m) => m.id === cc.id);
      if (i < 0) invalid(isVoter(c, cc.id) ? 'already a voter' : 'not a learner');
      voters.push(learners.splice(i, 1)[0] as Member);
      break;
    }
    case 'remove': {
      const v = voters.findIndex((m) => m.id === cc.id);
      const l = learners.findIndex((m) => m.id === cc.id);
      if (v < 0 && l < 0) invalid('not a member');
      if (v >= 0 && voters.length === 1) {
        throw new RaftRefusal('ERR_LAST_VOTER', '', `raft: cannot remove ${JSON.stringify(cc.id)}, the last voter`, false);
      }
      if (v >= 0) voters.splice(v, 1);
      else learners.splice(l, 1);
      break;
    }
    default:
      throw new RangeError(`raft: unknown conf change type ${JSON.stringify((cc as ConfChange).type)}`);
  }
  return { voters, learners };
}

/** Checks the argument of proposeConfChange (API misuse: TypeError/RangeError). */
export function checkConfChangeArg(cc: ConfChange): void {
  if (cc === null || typeof cc !== 'object') throw new TypeError('raft: proposeConfChange needs an object');
  if (cc.type !== 'addLearner' && cc.type !== 'promote' && cc.type !== 'remove') {
    throw new RangeError(`raft: unknown conf change type ${JSON.stringify(cc.type)}`);
  }
  if (typeof cc.id !== 'string' || cc.id.length === 0) throw new TypeError('raft: conf change id must be a non-empty string');
  if (cc.address !== undefined && typeof cc.address !== 'string') throw new TypeError('raft: conf change address must be a string');
}

/** What planConfChange needs to know about the leader. */
export interface PlanContext {
  id: NodeId;
  term: number;
  committed: number;
  /** Term of the commit index. */
  committedTerm: number | undefined;
  lastIndex: number;
  maxPromoteLagEntries: number;
  /** The leader's match for a member (0 if unknown). */
  matchOf(id: NodeId): number;
}

/**
 * Leader: the Config entry body for `cc`, or a RaftRefusal: a change already
 * in flight (ERR_CONF_CHANGE_IN_FLIGHT, retriable), no entry of this term
 * committed yet (ERR_NOT_COMMITTED_IN_TERM, retriable; Ongaro's fix), a
 * learner too far behind to promote (ERR_LEARNER_BEHIND), the last voter
 * (ERR_LAST_VOTER), or a change that does not fit (ERR_CONF_CHANGE_INVALID).
 */
export function planConfChange(m: Membership, cc: ConfChange, ctx: PlanContext): Uint8Array {
  checkConfChangeArg(cc);
  if (m.pendingIndex > ctx.committed) {
    throw new RaftRefusal('ERR_CONF_CHANGE_IN_FLIGHT', ctx.id, `raft: configuration change at index ${m.pendingIndex} is not committed yet`);
  }
  if (ctx.committedTerm !== ctx.term) {
    throw new RaftRefusal('ERR_NOT_COMMITTED_IN_TERM', ctx.id, `raft: leader ${ctx.id} has not committed an entry of term ${ctx.term} yet`);
  }
  const next = applyConfChange(m.current, cc);
  if (cc.type === 'promote') {
    const lag = ctx.lastIndex - ctx.matchOf(cc.id);
    if (lag > ctx.maxPromoteLagEntries) {
      throw new RaftRefusal(
        'ERR_LEARNER_BEHIND',
        ctx.id,
        `raft: learner ${JSON.stringify(cc.id)} is ${lag} entries behind (at most ${ctx.maxPromoteLagEntries} to promote)`,
        false,
      );
    }
  }
  return encodeConfiguration(next);
}

interface ConfAt {
  index: number;
  conf: Configuration;
}

/**
 * The configurations of the Config entries in a node's log, newest last, over
 * the one in force before them (`base`: the bootstrap configuration, or the
 * newest one found at or below the log start). A Config entry whose body does
 * not decode changes nothing (it is never produced by this core).
 */
export class Membership {
  #base: Configuration;
  readonly #stack: ConfAt[] = [];

  constructor(base: Configuration) {
    validateConfiguration(base);
    this.#base = base;
  }

  get current(): Configuration {
    const top = this.#stack[this.#stack.length - 1];
    return top === undefined ? this.#base : top.conf;
  }

  /** The configuration before the newest Config entry (null if there is none in the log). */
  get previous(): Configuration | null {
    const n = this.#stack.length;
    if (n === 0) return null;
    return n === 1 ? this.#base : (this.#stack[n - 2] as ConfAt).conf;
  }

  /** Index of the newest Config entry in the log (0 if none). */
  get pendingIndex(): number {
    const top = this.#stack[this.#stack.length - 1];
    return top === undefined ? 0 : top.index;
  }

  /** Entries were appended to the log (after any truncation was reported). Returns true if the configuration changed. */
  appended(ents: readonly Entry[], from = 0): boolean {
    let changed = false;
    for (let i = from; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (e.type !== EntryType.Config) continue;
      let conf: Configuration;
      try {
        conf = decodeConfiguration(e.data);
      } catch {
        continue;
      }
      this.#stack.push({ index: e.index, conf });
      changed = true;
    }
    return changed;
  }

  /** The log lost every entry from `index` on: their configurations no longer count. Returns true if it changed. */
  truncated(index: number): boolean {
    let changed = false;
    while (this.#stack.length > 0 && (this.#stack[this.#stack.length - 1] as ConfAt).index >= index) {
      this.#stack.pop();
      changed = true;
    }
    return changed;
  }

  /** The configuration of the newest Config entry at or below `index` (committed: final). */
  committedAt(index: number): Configuration {
    let c = this.#base;
    for (const e of this.#stack) {
      if (e.index > index) break;
      c = e.conf;
    }
    return c;
  }

  /**
   * The log restarted at a log start (every entry it held is gone) whose
   * leader's committed configuration is `body`: it becomes the base. A body
   * that does not decode changes nothing. Returns true if the configuration changed.
   */
  rebase(body: Uint8Array): boolean {
    let conf: Configuration;
    try {
      conf = decodeConfiguration(body);
    } catch {
      return false;
    }
    this.#stack.length = 0;
    this.#base = conf;
    return true;
  }

  /** Configurations committed through `index` are final: keep only the newest of them as the base. */
  compactTo(index: number): void {
    while (this.#stack.length > 0 && (this.#stack[0] as ConfAt).index <= index) {
      this.#base = (this.#stack.shift() as ConfAt).conf;
    }
  }
}
